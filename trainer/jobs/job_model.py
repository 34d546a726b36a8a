"""The model sent with a job (to fine-tune from, or to predict with), stored once per content on S3.

PREFIX/jobs/init-models/<content hash>/model.tar.gz: packing is deterministic (artifact.pack_model), so
the same model always lands on the same key and a later launch reuses it instead of uploading it again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from botocore.exceptions import ClientError

from .aws_errors import describe_aws_error
from .sagemaker_sdk import sse_upload_args


def upload_init_model(config, session, model_path: str | Path, tmp: Path,
                      uploaded: list | None = None) -> str:
    """Put the model to fine-tune from (or predict with) at PREFIX/jobs/init-models/<hash>/model.tar.gz; returns
    the channel URI. A copy already there (same content hash, size and encryption) is reused, not uploaded
    again; the key is appended to ``uploaded`` only when this call stores it.

    trainer.train reads it from the ``model`` channel (SM_CHANNEL_MODEL)."""
    from ..artifact import file_version

    tar = model_archive(Path(model_path), tmp)
    key = f"{config.jobs_prefix}/init-models/{file_version(tar)}/model.tar.gz"
    extra = sse_upload_args(config.sse, config.kms_key_id)
    s3 = session.client("s3")
    try:
        if not _stored_copy(s3, config.bucket, key, tar.stat().st_size, extra):
            if uploaded is not None:   # before the upload: an interrupted one may still have stored it
                uploaded.append(key)
            s3.upload_file(str(tar), config.bucket, key, ExtraArgs=extra)
    except Exception as exc:
        raise describe_aws_error(exc, "upload the model to fine-tune from", f"s3://{config.bucket}/{key}") from exc
    return f"s3://{config.bucket}/{key.rsplit('/', 1)[0]}/"


def model_archive(model_path: Path, tmp: Path) -> Path:
    """The model.tar.gz a job is sent: the archive itself, or the folder or bare .pth packed under ``tmp``."""
    from ..artifact import pack_model

    if model_path.is_file() and model_path.name.endswith((".tar.gz", ".tgz")):
        return model_path
    folder = model_path
    if model_path.is_file():  # a bare .pth: the archive needs it named model.pth
        folder = tmp / "init-model"
        folder.mkdir()
        shutil.copyfile(model_path, folder / "model.pth")
    return pack_model(folder, tmp / "init-model.tar.gz")


def _stored_copy(s3, bucket: str, key: str, size: int, extra: dict | None) -> bool:
    """Whether ``key`` already holds this model (the key is its content hash) with the wanted encryption."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    wanted = (extra or {}).get("ServerSideEncryption")
    return head.get("ContentLength") == size and (wanted is None or head.get("ServerSideEncryption") == wanted)
