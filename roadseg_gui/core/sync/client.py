"""Building the S3 client from the workspace settings, and parsing s3:// URIs.

Credentials come only from botocore's standard chain (profile, environment, SSO,
instance role); this module never reads, stores or logs keys.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader

from ..settings import S3Settings
from .errors import SyncError, describe
from .keys import normalize_prefix

RETRY_MODES = ("standard", "adaptive")
DEFAULT_WORKERS = 16
_loader_lock = threading.Lock()
_shared_loader = None


@dataclass(frozen=True)
class Destination:
    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def state_key(self) -> str:
        """The key of this destination's rows in the sync tables."""
        return f"{self.bucket}/{self.prefix}"


def parse_s3_uri(uri: str) -> Destination:
    """``s3://BUCKET/PREFIX`` -> Destination; a clear error for anything else."""
    text = (uri or "").strip()
    if not text.startswith("s3://"):
        raise SyncError(f"'{uri}' is not an S3 URI", "Write it as s3://BUCKET/PREFIX")
    bucket, _, prefix = text[5:].partition("/")
    if not bucket or "\\" in bucket or ".." in prefix.split("/"):
        raise SyncError(f"'{uri}' has no valid bucket or has '..' in its prefix",
                        "Write it as s3://BUCKET/PREFIX")
    return Destination(bucket, normalize_prefix(prefix))


def destination_of(s3: S3Settings) -> Destination | None:
    return Destination(s3.bucket, normalize_prefix(s3.prefix)) if s3.bucket else None


def make_s3_client(s3_settings: S3Settings, *, max_pool_connections: int = DEFAULT_WORKERS,
                   retry_mode: str | None = None):
    """A botocore S3 client for these settings: profile, region, endpoint, retries with backoff.

    A plain botocore client, not boto3's: boto3 only adds its resource layer and
    s3transfer helpers (upload_file...), which sync does not use, at ~0.05 s of CPU
    per process to import them (a third of `roadseg sync`'s own work on a re-sync).

    The retry mode is ``retry_mode``, else ``s3_settings.retry_mode`` when present, else
    the AWS config/env value (AWS_RETRY_MODE) when it is standard or adaptive, else
    standard. ``AWS_MAX_ATTEMPTS`` still applies as in every AWS tool.
    """
    try:
        session = _new_session(s3_settings.profile or None)
        mode = retry_mode or getattr(s3_settings, "retry_mode", "") or ""
        if mode not in RETRY_MODES:
            configured = session.get_config_variable("retry_mode")
            mode = configured if configured in RETRY_MODES else "standard"
        region = s3_settings.region or session.get_config_variable("region") or "us-east-1"
        config = Config(
            retries={"mode": mode},
            max_pool_connections=max_pool_connections,
            connect_timeout=10,
            read_timeout=60,
            tcp_keepalive=True,
        )
        return session.create_client("s3", region_name=region, endpoint_url=s3_settings.endpoint_url or None,
                                     config=config)
    except Exception as exc:  # ProfileNotFound and friends surface here
        raise describe(exc, bucket=s3_settings.bucket, profile=s3_settings.profile,
                       region=s3_settings.region, endpoint=s3_settings.endpoint_url) from None


def _new_session(profile: str | None) -> botocore.session.Session:
    """A fresh session (credentials resolved anew each time) sharing one service-model loader:
    parsing botocore's JSON models is most of a client's ~0.1 s creation cost."""
    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = create_loader()
        session = botocore.session.Session(profile=profile)
        session.register_component("data_loader", _shared_loader)
    return session


def sse_arguments(s3_settings: S3Settings) -> dict:
    """Server-side encryption arguments for PutObject/CreateMultipartUpload."""
    sse = (s3_settings.sse or "").strip()
    if not sse:
        return {}
    if sse == "AES256":
        return {"ServerSideEncryption": "AES256"}
    if sse in ("aws:kms", "aws:kms:dsse"):
        args = {"ServerSideEncryption": sse}
        if s3_settings.kms_key_id:
            args["SSEKMSKeyId"] = s3_settings.kms_key_id
        return args
    raise SyncError(f"unknown server-side encryption '{sse}'", "Use AES256, aws:kms, or leave it empty")
