"""The job's loop over S3 prefixes: which scenes remain, fetch one, publish its outputs.

Used by ``--backend local`` with s3:// paths (one scene on local disk at a time) and by the
SageMaker launcher, which sends only the remaining scenes in a manifest so a rerun skips
scenes whose outputs are complete.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import BadInputError, RoadsegError
from . import contract


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix/") (a folder prefix, "" for the bucket root)."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise BadInputError(f"{uri!r} is not an s3://BUCKET/PREFIX URI", "Write e.g. s3://my-bucket/scenes/.")
    bucket, _, prefix = uri[5:].partition("/")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


def list_keys(s3, uri: str, flat: bool = False) -> list[str]:
    """Every key under the prefix, relative to it (``flat``: only those directly in it, not in sub-folders)."""
    bucket, prefix = split_uri(uri)
    keys = []
    folders = {"Delimiter": "/"} if flat else {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **folders):
            keys += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise RoadsegError(f"cannot list {uri} ({code or exc})",
                           "Check the bucket name, the region and that your user may s3:ListBucket there.") from exc
    except BotoCoreError as exc:
        raise RoadsegError(f"cannot reach S3 to list {uri}: {exc}", "Check the network and the endpoint.") from exc
    return keys


def _relative_is_safe(relative: str) -> bool:
    parts = relative.split("/")
    return bool(relative) and not relative.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def scene_keys(s3, input_uri: str) -> list[str]:
    """Scene keys under the prefix, relative to it. A key with ``..``, ``.`` or empty segments is left
    out: its relative path becomes a local path (outputs, review copies) and must not climb out."""
    scenes = [k for k in list_keys(s3, input_uri) if contract.is_scene_name(k.rsplit("/", 1)[-1])
              and _relative_is_safe(k)]
    if not scenes:
        raise BadInputError(f"{input_uri} holds no scene (no .tif, .tiff, .vrt, .jp2 or .img file)",
                            "Point the input at the prefix that holds the GeoTIFF scenes.")
    return scenes


def remaining_scenes(s3, input_uri: str, output_uri: str,
                     signature: dict | None = None) -> tuple[list[str], list[str]]:
    """(scenes still to predict, scenes already complete), as keys relative to the input prefix.

    Complete means the output prefix holds the scene's marker, every file it lists with that size, and
    (given ``signature``, see ``JobOptions.signature``) the same model and options.
    """
    return split_complete(s3, scene_keys(s3, input_uri), output_uri, signature)


def split_complete(s3, scenes: list[str], output_uri: str,
                   signature: dict | None = None) -> tuple[list[str], list[str]]:
    """``scenes`` as (to predict, complete in ``output_uri``); a marker that cannot be read stops it all."""
    outputs = {}
    bucket, prefix = split_uri(output_uri)
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            outputs.update({item["Key"][len(prefix):]: item["Size"] for item in page.get("Contents", [])})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise RoadsegError(f"cannot list the output prefix {output_uri}",
                               "Check that your user may s3:ListBucket there.") from exc
        raise BadInputError(f"the output bucket {bucket!r} does not exist", "Create it or fix --out.") from exc
    done, todo = [], []
    shared = contract.shared_outputs(scenes)   # never complete on another scene's marker
    for relative in scenes:
        marker = contract.marker_name(relative)
        complete = relative not in shared and marker in outputs and _marker_complete(s3, bucket, prefix, marker,
                                                                                     outputs, signature)
        (done if complete else todo).append(relative)
    return todo, done


def _marker_complete(s3, bucket: str, prefix: str, marker: str, outputs: dict, signature: dict | None) -> bool:
    try:
        record = json.loads(s3.get_object(Bucket=bucket, Key=prefix + marker)["Body"].read())
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404"):   # deleted since the listing
            return False
        code = f"HTTP {code}" if code.isdigit() else code   # an error without a body: only its status
        # AccessDenied, a KMS key the user may not use...: the marker exists, so the scene may well be
        # finished; predicting everything again would silently re-bill finished work
        raise RoadsegError(f"cannot read the marker s3://{bucket}/{prefix}{marker} ({code or exc}), so it is "
                           f"unknown which scenes are finished",
                           "Allow s3:GetObject on the output prefix (and kms:Decrypt on its key), then run again; "
                           "nothing was started.") from exc
    except BotoCoreError as exc:
        raise RoadsegError(f"cannot read the marker s3://{bucket}/{prefix}{marker}: {exc}",
                           "Check the network, then run again; nothing was started.") from exc
    except ValueError:
        return False   # torn or foreign: the scene is predicted again
    try:
        if signature is not None and not contract.same_outputs(record.get("outputs"), signature):
            return False
        listed = record["files"]
        folder = marker.rsplit("/", 1)[0] + "/" if "/" in marker else ""
        return all(outputs.get(folder + name) == size for name, size in listed.items())
    except (KeyError, TypeError, AttributeError):
        return False


def fetcher(s3, input_uri: str):
    """``fetch(relative, folder)`` for the runner: download one scene under ``folder`` (keeping its relative
    path), with its sidecar files and a VRT's sources (see ``sidecars``), and return its path."""
    from .sidecars import sidecar_names, vrt_sources

    bucket, prefix = split_uri(input_uri)
    listed: dict[str, set] = {}

    def names_in(directory: str) -> set:
        """The file names in one folder of the input (listed once per folder: sidecars lie beside their scene)."""
        if directory not in listed:
            base = directory + "/" if directory else ""
            listed[directory] = set(list_keys(s3, f"s3://{bucket}/{prefix}{base}", flat=True))
        return listed[directory]

    def download(relative: str, folder: Path, missing_only: bool = False) -> Path:
        target = Path(folder) / relative
        if missing_only and target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            s3.download_file(bucket, prefix + relative, str(target))
        except ClientError as exc:
            raise RoadsegError(f"cannot download s3://{bucket}/{prefix}{relative} "
                               f"({exc.response.get('Error', {}).get('Code', exc)})") from exc
        return target

    def with_sidecars(relative: str, folder: Path, missing_only: bool) -> Path:
        target = download(relative, folder, missing_only)
        directory, _, name = relative.rpartition("/")
        for sidecar in sidecar_names(name, names_in(directory)):
            download(f"{directory}/{sidecar}" if directory else sidecar, folder, missing_only)
        return target

    def fetch(relative: str, folder: Path, missing_only: bool = False) -> Path:
        target = with_sidecars(relative, folder, missing_only)
        if target.suffix.lower() == ".vrt":
            for source in vrt_sources(target):
                key = posixpath.normpath(posixpath.join(posixpath.dirname(relative), source))
                if not _relative_is_safe(key) or key.rpartition("/")[2] not in names_in(key.rpartition("/")[0]):
                    raise BadInputError(f"its source {source} is not under {input_uri}",
                                        "Keep a VRT's sources under the input prefix, named relative to the VRT.")
                with_sidecars(key, folder, missing_only)
        return target
    return fetch


def publisher(s3, output_uri: str, output_dir: Path, extra_args: dict | None = None):
    """``on_published(relative, marker)``: upload the scene's files, then its marker (last), then drop them locally."""
    bucket, prefix = split_uri(output_uri)

    def publish(relative: str, marker: Path) -> None:
        listed = json.loads(marker.read_text("utf-8"))["files"]
        folder = contract.marker_name(relative).rpartition("/")[0]
        for name in list(listed) + [marker.name]:
            local = marker.parent / name
            key = prefix + (f"{folder}/{name}" if folder else name)
            s3.upload_file(str(local), bucket, key, ExtraArgs=extra_args or None)
        for name in listed:
            (marker.parent / name).unlink(missing_ok=True)
    return publish


def upload_file(s3, path: Path, output_uri: str, name: str, extra_args: dict | None = None) -> None:
    """Upload one file of the job (failures.json); an S3 refusal is one sentence, not a traceback."""
    from boto3.exceptions import S3UploadFailedError

    bucket, prefix = split_uri(output_uri)
    try:
        s3.upload_file(str(path), bucket, prefix + name, ExtraArgs=extra_args or None)
    except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
        raise RoadsegError(f"cannot upload {name} to s3://{bucket}/{prefix}{name} ({exc})",
                           "Check that your user may s3:PutObject there (and use the bucket's KMS key).") from exc


def job_failures(s3, output_uri: str, hosts: int, since: float | None = None) -> tuple[list[dict], list[str]]:
    """(failed scenes, failures files read) of one run: the files its ``hosts`` instances write, written
    since it started. An earlier run with more instances left ``failures-algo-N.json`` files that are not
    this run's, and a run on one instance left ``failures.json``."""
    names = {contract.failures_name(f"algo-{i}", hosts) for i in range(1, max(1, hosts) + 1)}
    bucket, prefix = split_uri(output_uri)
    rows, read = [], []
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "failures", Delimiter="/").get("Contents", [])
        for item in listed:
            name = item["Key"][len(prefix):]
            if name not in names or (since is not None and item["LastModified"].timestamp() < since - 1):
                continue
            rows += json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() or b"[]")
            read.append(name)
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise RoadsegError(f"cannot read the failures files under {output_uri} ({exc})",
                           "Check that your user may s3:ListBucket and s3:GetObject there.") from exc
    return rows, sorted(read)
