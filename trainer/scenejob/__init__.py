"""Whole-archive scene prediction as a job, one module per stage.

contract  where a job reads its scenes and model and writes its outputs (SageMaker Processing paths)
runner    the per-scene loop: skip complete outputs, predict, publish atomically, record failures
s3io      the same loop over S3 prefixes, one scene at a time (``--backend local`` with s3:// paths)
request   the SageMaker Processing job: validation, staging, the FrameworkProcessor request
follow    following a running processing job: status, logs, scenes done, cost, stop

``python -m trainer.scenejob`` is the entry point the Processing container runs; it runs
anywhere with the same contract.
"""
