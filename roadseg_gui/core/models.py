"""The workspace's model registry: versions under .roadseg/models/<version>/, their lineage and metrics.

A version is the content hash prefix of its model.pth (as ``trainer.artifact`` names it), so
registering the same archive twice gives the same version. Archives are unpacked with
``tarfile`` filter="data" (``trainer.artifact.unpack_model``): nothing lands outside the folder.
Activating writes ``WorkspaceSettings.active_model`` (the model's folder) and records the
switch, so rolling back is one call. Activation is a settings write: instant.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from trainer.artifact import META_NAME, WEIGHTS_NAME, file_version, unpack_model
from trainer.errors import ModelLoadError, RoadsegError

from . import statedb
from .layout import state_dir
from .settings import WorkspaceSettings
from .shipped import STARTER_MODEL  # the demo workspace installs the same model

MODELS_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    version         TEXT PRIMARY KEY,   -- content hash prefix of model.pth
    path            TEXT NOT NULL,      -- model folder (or file, for a model kept outside the workspace)
    job_name        TEXT,
    backend         TEXT,               -- 'local', 'sagemaker', or 'external'
    data            TEXT,               -- JSON: train/test pair counts it was trained on
    hyperparameters TEXT,               -- JSON
    metrics         TEXT,               -- JSON: evaluated on this workspace's test pairs
    created         TEXT,               -- ISO time the model was made
    registered      REAL,
    parent          TEXT,               -- the version that was active when it was trained
    active          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS model_activations (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,
    at      REAL NOT NULL
);
"""


@dataclass
class ModelRecord:
    version: str
    path: Path
    job_name: str = ""
    backend: str = ""
    data: dict = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    created: str = ""
    registered: float = 0.0
    parent: str = ""
    active: bool = False

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "ModelRecord":
        return cls(row["version"], Path(row["path"]), row["job_name"] or "", row["backend"] or "",
                   json.loads(row["data"] or "{}"), json.loads(row["hyperparameters"] or "{}"),
                   json.loads(row["metrics"] or "{}"), row["created"] or "", row["registered"] or 0.0,
                   row["parent"] or "", bool(row["active"]))


class ModelRegistry:
    """Model versions of one workspace. Open one per thread (it holds a SQLite connection)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.models_dir = state_dir(self.root) / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.db = statedb.connect(self.root)
        statedb.ensure_schema(self.db, MODELS_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- adding ----------------------------------------------------------------------------
    def add_archive(self, tar_path: str | Path, *, job_name: str = "", backend: str = "", data: dict | None = None,
                    hyperparameters: dict | None = None, parent: str = "") -> ModelRecord:
        """Unpack a model.tar.gz safely into models/<version>/ and register it."""
        incoming = self.models_dir / f".incoming-{uuid.uuid4().hex[:8]}"
        try:
            model_dir = unpack_model(tar_path, incoming)
            version = file_version(model_dir / WEIGHTS_NAME)
            final = self.models_dir / version
            if not (final / WEIGHTS_NAME).is_file():
                if final.exists():
                    shutil.rmtree(final)
                model_dir.replace(final)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return self._register(final, version, job_name=job_name, backend=backend, data=data,
                              hyperparameters=hyperparameters, parent=parent)

    def add_external(self, path: str | Path, version: str, *, created: str = "") -> ModelRecord:
        """Register a model that stays where it is (e.g. the seed checkpoint the app started with)."""
        existing = self.get(version)
        if existing:
            return existing
        return self._register(Path(path).resolve(), version, backend="external", created=created)

    def _register(self, path: Path, version: str, *, job_name: str = "", backend: str = "",
                  data: dict | None = None, hyperparameters: dict | None = None, parent: str = "",
                  created: str = "") -> ModelRecord:
        meta = {}
        if path.is_dir() and (path / META_NAME).is_file():
            try:
                meta = json.loads((path / META_NAME).read_text("utf-8"))
            except (OSError, ValueError, RecursionError) as exc:
                from trainer.model_errors import metadata_reason
                raise ModelLoadError(metadata_reason(exc), "Restore it from the model's model.tar.gz.",
                                     path / META_NAME) from exc
        self.db.execute(
            "INSERT INTO models(version, path, job_name, backend, data, hyperparameters, metrics, created, registered,"
            " parent) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(version) DO UPDATE SET path=excluded.path,"
            " job_name=COALESCE(NULLIF(excluded.job_name,''), job_name),"
            " backend=COALESCE(NULLIF(excluded.backend,''), backend)",
            (version, str(path), job_name, backend, json.dumps(data or meta.get("data") or {}),
             json.dumps(hyperparameters or meta.get("hyperparameters") or {}), json.dumps({}),
             created or meta.get("created", ""), time.time(), parent))
        return self.get(version)

    def set_metrics(self, version: str, metrics: dict) -> None:
        self.db.execute("UPDATE models SET metrics=? WHERE version=?", (json.dumps(metrics), version))

    # -- reading ---------------------------------------------------------------------------
    def get(self, version: str) -> ModelRecord | None:
        row = self.db.execute("SELECT * FROM models WHERE version=?", (version,)).fetchone()
        return ModelRecord.from_row(row) if row else None

    def records(self) -> list[ModelRecord]:
        """Newest first."""
        return [ModelRecord.from_row(r) for r in self.db.execute("SELECT * FROM models ORDER BY registered DESC")]

    def active(self) -> ModelRecord | None:
        """The registered model the settings point at (None if the settings point elsewhere or nowhere)."""
        wanted = WorkspaceSettings.load(self.root).active_model
        if not wanted:
            return None
        for record in self.records():
            if _same_path(record.path, wanted):
                return record
        return None

    def lineage(self, version: str) -> list[ModelRecord]:
        """The version, its parent, its parent's parent... (stops at a loop or an unknown version)."""
        chain, seen = [], set()
        record = self.get(version)
        while record and record.version not in seen:
            chain.append(record)
            seen.add(record.version)
            record = self.get(record.parent) if record.parent else None
        return chain

    # -- switching -------------------------------------------------------------------------
    def activate(self, version: str) -> ModelRecord:
        record = self.get(version)
        if record is None:
            raise RoadsegError(f"no model version {version!r} in this workspace", "Pick one from the model list.")
        if not record.path.exists():
            raise ModelLoadError("the model's files are gone", "Retrain, or activate another version.", record.path)
        current = self.active()
        last = self.db.execute("SELECT version FROM model_activations ORDER BY id DESC LIMIT 1").fetchone()
        with statedb.transaction(self.db):
            if current and (last is None or last["version"] != current.version):
                # the model in use came from outside the registry: remember it so a rollback finds it
                self.db.execute("INSERT INTO model_activations(version, at) VALUES (?, ?)",
                                (current.version, time.time()))
            self.db.execute("UPDATE models SET active = (version = ?)", (version,))
            self.db.execute("INSERT INTO model_activations(version, at) VALUES (?, ?)", (version, time.time()))
        settings = WorkspaceSettings.load(self.root)
        settings.active_model = str(record.path)
        settings.save(self.root)
        record.active = True
        return record

    def previous(self) -> ModelRecord | None:
        """The model that was active before the current one (what a rollback returns to)."""
        current = self.active()
        rows = self.db.execute("SELECT version FROM model_activations ORDER BY id DESC").fetchall()
        for row in rows:
            if current is None or row["version"] != current.version:
                record = self.get(row["version"])
                if record and record.path.exists():
                    return record
        return None

    def rollback(self) -> ModelRecord:
        target = self.previous()
        if target is None:
            raise RoadsegError("there is no earlier model to go back to")
        return self.activate(target.version)


def starter_model_path() -> Path | None:
    """The starter model this installation ships (resources/models/starter), or None when it ships none.

    A retrain fine-tunes from it when the workspace has no current model."""
    return STARTER_MODEL if (STARTER_MODEL / WEIGHTS_NAME).is_file() else None


def _same_path(a: Path, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == b
