"""Settings: per workspace in .roadseg/settings.toml, per user under platformdirs' config dir.

AWS credentials are never stored here: only the profile *name*, region and
endpoint. boto3's standard chain (profile, env, SSO, instance role) supplies keys.
"""

from __future__ import annotations

import dataclasses
import getpass
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from platformdirs import user_config_dir

from trainer.errors import RoadsegError
from trainer.fsutil import atomic_write_text

from .layout import state_dir

SETTINGS_NAME = "settings.toml"
SSE_CHOICES = ("", "AES256", "aws:kms", "aws:kms:dsse")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION_NAME = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")


class SettingsError(RoadsegError):
    """A setting that cannot work as given; it is not saved."""


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


def validate_s3_settings(s3: S3Settings) -> None:
    """Raise SettingsError (one sentence) for S3 settings that cannot work, before they are saved.

    Local checks only, no network: the profile exists in the AWS config/credentials files
    (botocore's own lookup), and the bucket name, region, endpoint and encryption are well formed.
    """
    if s3.profile:
        import botocore.exceptions
        import botocore.session   # lazy: botocore costs ~0.2 s to import, and most callers never need it

        try:
            botocore.session.Session(profile=s3.profile).get_scoped_config()
        except botocore.exceptions.ProfileNotFound:
            raise SettingsError(f"the AWS profile '{s3.profile}' is not configured",
                                "Create it with `aws configure --profile NAME` or choose another profile") from None
    if s3.bucket and not _BUCKET_NAME.fullmatch(s3.bucket):
        raise SettingsError(f"'{s3.bucket}' is not a valid S3 bucket name",
                            "Use 3-63 lower-case letters, digits, dots and hyphens")
    if s3.region and not _REGION_NAME.fullmatch(s3.region):
        raise SettingsError(f"'{s3.region}' is not an AWS region name", "Write it like us-east-1 or eu-west-2")
    if s3.endpoint_url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", s3.endpoint_url):
        raise SettingsError(f"'{s3.endpoint_url}' is not an endpoint URL",
                            "Write it like https://s3.example.com or http://127.0.0.1:9000")
    if s3.sse not in SSE_CHOICES:
        raise SettingsError(f"unknown server-side encryption '{s3.sse}'", "Use AES256, aws:kms, or leave it empty")


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
    image_uri: str = ""   # a derived image in ECR for jobs without internet; "" = AWS's PyTorch image


@dataclass
class LabelingSettings:
    test_fraction: float = 0.10
    brush_size: int = 12
    road_width_px: int = 10
    overlay_opacity: float = 0.5
    qa_gap_widths: float = 4.0        # connectivity QA: gaps up to this many road widths are marked
    qa_min_fragment_px: int = 0       # fragments shorter than this are marked (0: 8 road widths)
    qa_min_speck_px: int = 0          # prediction specks under this area go unmarked (0: (2 road widths)^2)
    review_start: str = "prediction"  # an untouched tile starts as the prediction; "labeled": as labeled, roads proposed
    review_join_widths: float = 2.0   # review: an accepted road's end this many widths from a labeled road joins it
    review_min_width_px: int = 3      # review: candidate widths (measured from the prediction) are clamped to this range
    review_max_width_px: int = 40


@dataclass
class ReviewSettings:
    require_review: bool = False   # pairs reach {train,test}/ on S3 only once a reviewer approved them


@dataclass
class WorkspaceSettings:
    s3: S3Settings = field(default_factory=S3Settings)
    sagemaker: SageMakerSettings = field(default_factory=SageMakerSettings)
    labeling: LabelingSettings = field(default_factory=LabelingSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    active_model: str = ""   # path of the model the app predicts with
    annotator: str = ""      # who labels here (throughput, review); empty: the OS login

    def annotator_name(self) -> str:
        name = self.annotator.strip() if isinstance(self.annotator, str) else ""   # a hand-edited number: ignored
        return name or os_login()

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


def os_login() -> str:
    """The OS login name; "annotator" where there is none (a container without a passwd entry)."""
    try:
        return getpass.getuser() or "annotator"
    except (KeyError, OSError, ImportError):
        return "annotator"


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
