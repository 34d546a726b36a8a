"""Training jobs: one record/status model, two backends (local subprocess, SageMaker) with one contract.

Both run ``python -m trainer.train`` with the SageMaker environment (SM_CHANNEL_TRAIN,
SM_CHANNEL_TEST, SM_MODEL_DIR, hyperparameters as flags) and end with a ``model.tar.gz``.
Backends are imported lazily (``trainer.jobs.local``, ``trainer.jobs.sagemaker_backend``):
the SageMaker SDK takes seconds to import and the local backend never needs it.
"""

from .base import Hyperparameters, JobRunner, JobState, JobStatus, TrainingJob, new_job_name
from .metrics import MetricsTracker, parse_metrics_line

__all__ = ["Hyperparameters", "JobRunner", "JobState", "JobStatus", "TrainingJob", "new_job_name",
           "MetricsTracker", "parse_metrics_line"]
