"""``roadseg predict --backend local|sagemaker``: predict a whole scene archive as a job.

``--backend sagemaker`` creates a SageMaker Processing job (scenes sharded across instances)
and follows it: status, log lines, scenes done, estimated cost; Ctrl+C stops it.
``--backend local`` runs the same entry point in this process, on local folders or s3://
prefixes, using the GPU when there is one. Reruns skip scenes whose outputs are complete.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from trainer.errors import BadInputError

JOB_BACKENDS = ("local", "sagemaker")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("archive jobs (--backend)")
    group.add_argument("--backend", choices=JOB_BACKENDS, default=None,
                       help="run as a scene job: local (this machine, folders or s3:// prefixes) or sagemaker "
                            "(a Processing job over an s3:// prefix); without it, predict here as files")
    group.add_argument("--workspace", type=Path, default=None,
                       help="workspace whose SageMaker/S3 settings, current model and jobs list to use "
                            "(default: the current folder when it is one)")
    group.add_argument("--role", default="", help="SageMaker execution role ARN (default: the workspace's)")
    group.add_argument("--instance-type", default="", help="instance type (default: the workspace's)")
    group.add_argument("--instance-count", type=int, default=None, help="instances to shard scenes over")
    group.add_argument("--no-wait", action="store_true", help="create the SageMaker job and return")


def _workspace(args) -> Path | None:
    root = args.workspace or Path.cwd()
    return root.resolve() if (root / ".roadseg").is_dir() else None


def _job_arguments(args) -> list[str]:
    flags = [] if args.cog else ["--no-cog"]
    flags += ["--vector"] if args.vector else []
    flags += ["--no-bridge"] if args.vector and not getattr(args, "bridge", True) else []
    flags += ["--wgs84"] if args.wgs84 else []
    flags += ["--probability"] if args.write in ("probability", "both") else []
    flags += ["--tile", str(args.tile), "--overlap", str(args.overlap)]
    return flags + (["--threshold", str(args.threshold)] if args.threshold is not None else [])


def run(args) -> int:
    from roadseg_gui.core import scene_jobs
    from roadseg_gui.core.settings import WorkspaceSettings

    if len(args.inputs) != 1:
        raise BadInputError(f"--backend {args.backend} takes one input folder or s3:// prefix "
                            f"(got {len(args.inputs)})", "Put the scenes under one prefix.")
    root = _workspace(args)
    if args.workspace and root is None:
        raise BadInputError("is not a roadseg workspace", "Give the folder that holds .roadseg/.", args.workspace)
    model = scene_jobs.current_model(root or Path.cwd()) if args.model == "current" else args.model
    source, out = args.inputs[0], str(args.out)
    if args.backend == "local":
        return _run_local(source, out, model, args)
    settings = WorkspaceSettings.load(root) if root else WorkspaceSettings()
    request = scene_jobs.build_request(settings, source, out, model, role=args.role,
                                       instance_type=args.instance_type, instance_count=args.instance_count,
                                       arguments=_job_arguments(args))
    print(f"checking the settings and listing {source} …", flush=True)
    runner, sent, skipped = scene_jobs.launch(root, request)
    if runner is None:
        print(f"all {len(skipped)} scene(s) under {source} already have complete outputs in {out}; nothing to do")
        return 0
    job = runner.job
    print(f"processing job {job.name}: {len(sent)} scene(s) on {job.details['instance_count']} x "
          f"{request.config.instance_type} in {job.details.get('region')}; {len(skipped)} already complete")
    if args.no_wait:
        return 0
    return follow(runner, root)


def follow(runner, root: Path | None, interval: float = 15.0) -> int:
    from roadseg_gui.core.retrain import remember
    from trainer.jobs.base import JobState

    last = None
    try:
        while True:
            status = runner.refresh()
            for line in runner.poll():
                print(f"  | {line}", flush=True)
            done, total = runner.scenes_done
            cost = runner.cost_estimate()
            described = f"{status.describe()}; scenes {done}/{total}" + (f"; {cost.describe()}" if cost else "")
            if described != last:
                print(f"status: {described}", flush=True)
                last = described
            if root is not None:
                remember(root, runner.job)
            if status.terminal:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        print(f"stopping job {runner.job.name} …", flush=True)
        runner.stop()
        if root is not None:   # the jobs list shows it stopping, not as it was last seen
            remember(root, runner.job)
        return 130
    if status.state != JobState.COMPLETED:
        print(f"error: job {runner.job.name} {status.state.value.lower()}"
              + (f": {status.failure_reason}" if status.failure_reason else ""), file=sys.stderr)
        return 1
    print(f"outputs in {runner.job.details.get('output_uri')} (failed scenes, if any, are in failures*.json there)")
    return 0


def _run_local(source: str, out: str, model: str, args) -> int:
    from trainer.scenejob.__main__ import run as run_job
    from trainer.scenejob.runner import JobOptions

    options = JobOptions(cog=args.cog, probability=args.write in ("probability", "both"), vector=args.vector,
                         wgs84=args.wgs84, tile=args.tile, overlap=args.overlap, threshold=args.threshold,
                         device=args.device)
    summary = run_job(source, model, out, options)
    print(f"scene job finished: {summary.describe()}; outputs in {out}")
    for name, reason in summary.failed.items():
        print(f"failed: {name}: {reason}", file=sys.stderr)
    return 1 if summary.failed else 0
