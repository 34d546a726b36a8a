"""``python -m trainer.scenejob``: predict every scene under an input folder or S3 prefix.

In a SageMaker Processing container the defaults are the job's mounted paths; elsewhere
(``roadseg predict --backend local``) the same code runs in one process on local folders or
s3:// prefixes, using the GPU when there is one. A scene that fails is listed with its reason in
failures.json and the others go on: the exit status is 0 once the job could start (an instance
whose shard holds no scene included), 2 when nothing could start (no scenes, no model, a marker
that cannot be read). Outputs a Processing job writes reach S3 through SageMaker's own upload,
encrypted with the job's output KMS key, so the container takes no SSE arguments.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..errors import BadInputError, RoadsegError
from . import contract, staging
from .runner import JobOptions, JobSummary, list_scenes, run_scenes, write_failures
from .signature import build_parser, options_from


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = options_from(argv if argv is not None else sys.argv[1:])
    try:
        summary = run(args.input, args.model, args.output, options, manifest_prefix=args.manifest_prefix)
    except RoadsegError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"scene job finished: {summary.describe()}", flush=True)
    if summary.failed:   # the job still completes: one bad scene must not fail the archive
        name = contract.failures_name(*contract.current_host())
        print(f"{len(summary.failed)} of {summary.total} scenes failed: see {name}", flush=True)
    return 0


def run(input_uri: str, model: str, output_uri: str, options: JobOptions, *, sse: str = "", kms_key_id: str = "",
        s3=None, manifest_prefix: str = ""):
    """Run the job on local folders and/or s3:// prefixes; returns the JobSummary.

    ``sse``/``kms_key_id`` encrypt what this process uploads to an s3:// output (``--backend local``)."""
    if contract.output_inside_input(input_uri, output_uri):
        raise BadInputError("the output lies inside the input",
                            "Write predictions under another folder or prefix, or the next run would read their "
                            "masks as scenes.")
    host = contract.current_host()
    remote_in, remote_out = input_uri.startswith("s3://"), output_uri.startswith("s3://")
    if (remote_in or remote_out) and s3 is None:
        s3 = _s3_client()
    extra = _extra_args(sse, kms_key_id)
    with staging.work_folder(output_uri) as work:
        if remote_in:
            from . import s3io
            scenes, unreadable, fetch = s3io.scene_keys(s3, input_uri), {}, s3io.fetcher(s3, input_uri)
        else:
            found = _local_scenes(Path(input_uri), None if remote_out else Path(output_uri), manifest_prefix, host)
            # an empty shard is success, with an empty failures file of its own
            scenes, unreadable, fetch = found or ([], {}, None)
        for relative, reason in unreadable.items():
            print(f"{relative}: FAILED: {reason}", flush=True)
        output_dir, published = _output(s3, output_uri, work, extra)
        if not scenes:   # nothing to predict, but the failures are still written beside the outputs
            summary = JobSummary(failed=dict(unreadable))
            _finish(s3, summary, output_dir, output_uri, host, extra, work)
            return summary
        predictor = _predictor(s3, model, options, work)
        signature = options.signature(predictor.version, predictor.threshold)
        already = []
        if remote_out:
            from . import s3io
            scenes, already = s3io.split_complete(s3, scenes, output_uri, signature)
            for relative in already:
                print(f"{relative}: outputs already complete, skipped", flush=True)
        print(f"{len(scenes)} scene(s) on {predictor.describe()} (host {host[0]} of {host[1]})", flush=True)
        summary = run_scenes(scenes, fetch, output_dir, predictor, options, on_published=published, host=host,
                             failed=unreadable, signature=signature, work=work)
        summary.skipped[:0] = already
        _finish(s3, summary, output_dir, output_uri, host, extra, work, written=True)
    return summary


def _local_scenes(root: Path, output: Path | None, manifest_prefix: str, host: tuple[str, int]):
    """(scenes, unreadable, fetch) of a local input folder; None for an empty shard of a multi-instance job."""
    # ShardedByS3Key gives an instance no scene when there are more instances than scenes (reruns)
    empty_shard = f"this instance's shard holds no scene ({root} is empty): nothing to do"
    if not root.is_dir():
        if host[1] > 1:
            print(empty_shard, flush=True)
            return None
        raise RoadsegError(f"the scene folder {root} does not exist", "Check --input.")
    scenes, unreadable, base = list_scenes(root, exclude=output,
                                           key_prefix=contract.manifest_key_prefix(manifest_prefix))
    if not scenes and not unreadable:
        if host[1] > 1:
            print(empty_shard, flush=True)
            return None
        raise RoadsegError(f"{root} holds no scene (no .tif, .tiff, .vrt, .jp2 or .img file)",
                           "Point the input at the folder that holds the GeoTIFF scenes.")
    return scenes, unreadable, _local_fetch(base, manifest_prefix)


def _local_fetch(base: Path, manifest_prefix: str):
    """Scenes are read in place. In a Processing job only the manifest's scenes arrive: their sidecar files
    and a VRT's sources are fetched from the manifest's prefix (when S3 can be reached from the job)."""
    from .sidecars import missing_source

    remote: list = []
    if manifest_prefix.startswith("s3://"):
        from . import s3io
        remote.append(s3io.fetcher(_s3_client(), manifest_prefix))

    def fetch(relative: str, _folder) -> Path:
        if remote:
            try:
                remote[0](relative, base, missing_only=True)
            except BadInputError:
                raise
            except RoadsegError as exc:   # no route to S3 (network isolation) or no permission: say so once
                print(f"sidecar files are not fetched from {manifest_prefix}: {exc}", flush=True)
                remote.clear()
        path = base / relative
        reason = missing_source(path) if path.suffix.lower() == ".vrt" else None
        if reason:
            raise BadInputError(reason, path=path)
        return path
    return fetch


def _predictor(s3, model: str, options: JobOptions, work: Path):
    from ..predict import Predictor

    print(f"loading model {model}…", flush=True)
    if model.startswith("s3://"):
        model = _download_model(s3 or _s3_client(), model, work)
    return Predictor(contract.model_path(model), device=options.device, tile=options.tile,
                     overlap=options.overlap, threshold=options.threshold)


def _finish(s3, summary: JobSummary, output_dir: Path, output_uri: str, host, extra: dict, work: Path,
            written: bool = False) -> None:
    """failures.json beside the outputs (run_scenes has written it when ``written``), uploaded for S3 outputs."""
    name = contract.failures_name(*host)
    if not written:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        write_failures(output_dir, summary, host, work)
    if output_uri.startswith("s3://"):
        from . import s3io
        s3io.upload_file(s3, output_dir / name, output_uri, name, extra)


def _s3_client():
    import boto3
    return boto3.client("s3")


def _download_model(s3, uri: str, work: Path) -> str:
    """An s3://…/model.tar.gz (or a prefix holding one) to a local file."""
    from . import s3io
    bucket, key = uri[5:].split("/", 1) if "/" in uri[5:] else (uri[5:], "")
    if not key.endswith((".tar.gz", ".tgz")):
        archives = [k for k in s3io.list_keys(s3, uri) if k.endswith((".tar.gz", ".tgz"))]
        if len(archives) != 1:
            raise RoadsegError(f"{uri} holds {len(archives)} model archives, not one",
                               "Give the s3:// URI of the model.tar.gz itself.")
        key = key.rstrip("/") + "/" + archives[0] if key else archives[0]
    target = work / "model" / "model.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(bucket, key, str(target))
    except Exception as exc:  # botocore errors: one sentence
        raise RoadsegError(f"cannot download the model s3://{bucket}/{key} ({exc})",
                           "Check the URI and that your user may s3:GetObject there.") from exc
    return str(target)


def _extra_args(sse: str, kms_key_id: str) -> dict:
    extra = {"ServerSideEncryption": sse} if sse else {}
    if sse == "aws:kms" and kms_key_id:
        extra["SSEKMSKeyId"] = kms_key_id
    return extra


def _output(s3, output_uri: str, work: Path, extra: dict):
    """(local output folder, per-scene publish callback or None)."""
    if not output_uri.startswith("s3://"):
        return Path(output_uri), None
    from . import s3io
    published = work / "published"
    return published, s3io.publisher(s3, output_uri, published, extra)


if __name__ == "__main__":
    sys.exit(main())
