"""One conditional upload or one atomic download.

Uploads carry the content's sha256 as ``x-amz-meta-roadseg-sha256``. When a
conditional write fails (412) and the remote object already holds exactly our
content (an earlier run was killed after the PUT but before it recorded the
ETag), the remote ETag is adopted instead of reporting a conflict: that is what
lets a killed sync converge.

Files up to MULTIPART_THRESHOLD go up with one PutObject (If-None-Match / If-Match).
Larger ones use multipart with the condition on CompleteMultipartUpload, which S3
enforces for both headers. moto (5.x) enforces only If-None-Match there, so before
a multipart *update* the ETag is also checked with a HEAD (a narrower window, not
a guarantee, on stores that ignore If-Match on complete).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from trainer.fsutil import atomic_writer

from .errors import error_code, http_status, is_precondition_failed

SHA_METADATA = "roadseg-sha256"
MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
CONDITIONAL_CONFLICT_RETRIES = 3   # 409 ConditionalRequestConflict: a concurrent write; S3 says retry


class FileChangedError(OSError):
    """The local file changed between planning and upload; the next run will send it."""


@dataclass(frozen=True)
class UploadResult:
    etag: str
    sha256: str
    conflict: str = ""     # non-empty: the 412 reason; nothing was written
    adopted: bool = False  # the remote already held our bytes (resumed run)


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def upload(client, bucket: str, key: str, path: Path, expected_sha: str, etag: str | None,
           extra: dict, multipart_threshold: int = MULTIPART_THRESHOLD) -> UploadResult:
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    size = path.stat().st_size
    for attempt in range(CONDITIONAL_CONFLICT_RETRIES + 1):
        try:
            if size > multipart_threshold:
                return _multipart(client, bucket, key, path, expected_sha, etag, condition, extra)
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()  # what we send is what we record
            response = client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type(key),
                                         Metadata={SHA_METADATA: sha}, **condition, **extra)
            return UploadResult(response["ETag"], sha)
        except ClientError as exc:
            if error_code(exc) == "ConditionalRequestConflict" and attempt < CONDITIONAL_CONFLICT_RETRIES:
                continue
            lost = etag and (error_code(exc) in ("NoSuchKey", "404") or http_status(exc) == 404)
            if not (is_precondition_failed(exc) or lost):
                raise
            sha = file_sha(path)
            remote = head(client, bucket, key)
            if remote and remote_holds(remote, sha, path):
                return UploadResult(remote["ETag"], sha, adopted=True)
            reason = "deleted remotely" if remote is None else "changed remotely"
            return UploadResult("", sha, conflict=f"{key} was {reason} since this workspace last saw it")
    raise AssertionError("unreachable")


def _multipart(client, bucket, key, path, expected_sha, etag, condition, extra) -> UploadResult:
    if etag:
        remote = head(client, bucket, key)
        if remote is None or remote["ETag"].strip('"') != etag.strip('"'):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "ETag moved"},
                               "ResponseMetadata": {"HTTPStatusCode": 412}}, "HeadObject")
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type(key),
                                               Metadata={SHA_METADATA: expected_sha}, **extra)["UploadId"]
    try:
        parts, digest = [], hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(PART_SIZE):
                digest.update(chunk)
                number = len(parts) + 1
                part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                          Body=chunk)
                parts.append({"ETag": part["ETag"], "PartNumber": number})
        if digest.hexdigest() != expected_sha:
            raise FileChangedError(f"{path} changed while it was uploading")
        response = client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                                    MultipartUpload={"Parts": parts}, **condition)
        return UploadResult(response["ETag"], expected_sha)
    except BaseException:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # the server may be gone; S3 lifecycle rules clean stale uploads
            pass
        raise


def head(client, bucket: str, key: str) -> dict | None:
    try:
        return client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound") or http_status(exc) == 404:
            return None
        raise


def remote_holds(head_response: dict, sha: str, path: Path | None = None) -> bool:
    """Does the remote object hold exactly these bytes? By our metadata, else by a plain MD5 ETag."""
    meta = {k.lower(): v for k, v in (head_response.get("Metadata") or {}).items()}
    if SHA_METADATA in meta:
        return meta[SHA_METADATA] == sha
    etag = head_response.get("ETag", "").strip('"')
    if path is not None and len(etag) == 32 and "-" not in etag and not head_response.get("SSEKMSKeyId"):
        return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() == etag
    return False


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(client, bucket: str, key: str, target: Path) -> tuple[str, str, int]:
    """GET into ``target`` atomically; returns (sha256, etag, size) of what was written."""
    response = client.get_object(Bucket=bucket, Key=key)
    digest, size = hashlib.sha256(), 0
    with atomic_writer(target, "wb") as fh:   # a 250-byte name still fits with its temp name
        for chunk in response["Body"].iter_chunks(1 << 20):
            digest.update(chunk)
            fh.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), response["ETag"], size

