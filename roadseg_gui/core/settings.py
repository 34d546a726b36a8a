"""Settings: per workspace in .roadseg/settings.toml, per user under platformdirs' config dir.

AWS credentials are never stored here: only the profile *name*, region and
endpoint. boto3's standard chain (profile, env, SSO, instance role) supplies keys.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from platformdirs import user_config_dir

from trainer.fsutil import atomic_write_text

from .layout import state_dir

SETTINGS_NAME = "settings.toml"


@dataclass
class S3Settings:
    bucket: str = ""
    prefix: str = "sagemaker/seg-data"
    region: str = ""
    profile: str = ""
    endpoint_url: str = ""
    sse: str = ""          # "", "AES256" or "aws:kms"
    kms_key_id: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}" if self.bucket else ""


@dataclass
class SageMakerSettings:
    role_arn: str = ""
    instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    framework_version: str = "2.5"
    python_version: str = "py311"
    use_spot: bool = True
    max_run_seconds: int = 4 * 3600
    max_wait_seconds: int = 8 * 3600


@dataclass
class LabelingSettings:
    test_fraction: float = 0.10
    brush_size: int = 12
    road_width_px: int = 10
    overlay_opacity: float = 0.5


@dataclass
class WorkspaceSettings:
    s3: S3Settings = field(default_factory=S3Settings)
    sagemaker: SageMakerSettings = field(default_factory=SageMakerSettings)
    labeling: LabelingSettings = field(default_factory=LabelingSettings)
    active_model: str = ""   # path of the model the app predicts with

    @classmethod
    def load(cls, root: str | Path) -> "WorkspaceSettings":
        return _from_dict(cls, _read_toml(state_dir(Path(root)) / SETTINGS_NAME))

    def save(self, root: str | Path) -> None:
        _write_toml(state_dir(Path(root)) / SETTINGS_NAME, dataclasses.asdict(self))


@dataclass
class UserSettings:
    recent_workspaces: list[str] = field(default_factory=list)
    last_model: str = ""

    @staticmethod
    def path() -> Path:
        return Path(user_config_dir("roadseg", appauthor=False)) / SETTINGS_NAME

    @classmethod
    def load(cls) -> "UserSettings":
        return _from_dict(cls, _read_toml(cls.path()))

    def save(self) -> None:
        _write_toml(self.path(), dataclasses.asdict(self))

    def remember_workspace(self, root: str | Path, keep: int = 10) -> None:
        root = str(Path(root).resolve())
        self.recent_workspaces = [root] + [p for p in self.recent_workspaces if p != root][: keep - 1]


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # A damaged settings file must not stop the app; keep it for the user to inspect.
        path.replace(path.with_suffix(".toml.bad"))
        return {}


def _write_toml(path: Path, data: dict) -> None:
    atomic_write_text(path, tomli_w.dumps(data))


def _from_dict(cls, data: dict):
    """Build a settings dataclass, ignoring unknown keys and keeping defaults for missing ones."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            value = _from_dict(f.default_factory, value if isinstance(value, dict) else {})
        kwargs[f.name] = value
    return cls(**kwargs)
