"""Training jobs remembered in the workspace, so a restarted app re-attaches to running jobs.

One row per job in the state DB (table ``training_jobs``, the job record as JSON); a local
job's files (spec, status, pid, train.log, model, checkpoints, output/model.tar.gz) live in
.roadseg/jobs/<name>/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from trainer.jobs.base import TrainingJob

from . import statedb
from .layout import state_dir

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS training_jobs (
    name     TEXT PRIMARY KEY,
    backend  TEXT NOT NULL,
    state    TEXT NOT NULL,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    record   TEXT NOT NULL        -- TrainingJob.to_dict() as JSON
);
CREATE INDEX IF NOT EXISTS training_jobs_created ON training_jobs(created);
"""


def jobs_dir(root: str | Path) -> Path:
    path = state_dir(Path(root)) / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


class JobsStore:
    """Open one per thread (it holds a SQLite connection)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.dir = jobs_dir(self.root)
        self.db = statedb.connect(self.root)
        statedb.ensure_schema(self.db, JOBS_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "JobsStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def job_dir(self, name: str) -> Path:
        return self.dir / name

    def save(self, job: TrainingJob) -> None:
        self.db.execute(
            "INSERT INTO training_jobs(name, backend, state, created, updated, record) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET state=excluded.state, updated=excluded.updated, record=excluded.record",
            (job.name, job.backend, job.status.state.value, job.created, time.time(), json.dumps(job.to_dict())))

    def get(self, name: str) -> TrainingJob | None:
        row = self.db.execute("SELECT record FROM training_jobs WHERE name=?", (name,)).fetchone()
        return TrainingJob.from_dict(json.loads(row["record"])) if row else None

    def jobs(self) -> list[TrainingJob]:
        """Newest first."""
        rows = self.db.execute("SELECT record FROM training_jobs ORDER BY created DESC").fetchall()
        return [TrainingJob.from_dict(json.loads(r["record"])) for r in rows]

    def unfinished(self) -> list[TrainingJob]:
        """Jobs last seen running: re-attach to these after a restart."""
        return [job for job in self.jobs() if not job.status.terminal]

    def finished(self) -> list[TrainingJob]:
        return [job for job in self.jobs() if job.status.terminal]


def remember(root: str | Path, job: TrainingJob) -> None:
    """Save (or update) the job in the workspace, so a restarted app re-attaches to it."""
    with JobsStore(root) as store:
        store.save(job)
