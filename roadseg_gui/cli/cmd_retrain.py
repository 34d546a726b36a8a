"""``roadseg retrain WORKSPACE``: retrain the model on SageMaker or locally, follow it, compare the result."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from trainer.errors import BadInputError
from trainer.jobs.base import Hyperparameters, JobState
from trainer.jobs.metrics import MetricsTracker

from ..core.settings import WorkspaceSettings


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "retrain", help="retrain the model on the workspace's labeled pairs (SageMaker or local) and compare",
        description="Train a new model on WORKSPACE/train and test it on WORKSPACE/test, on SageMaker (the "
                    "workspace's synced S3 prefix; unsynced accepted tiles are synced first) or locally (the "
                    "default when no SageMaker role is configured). Status, log lines and per-epoch metrics "
                    "are printed live; the new model is brought back and compared with the current one.")
    parser.add_argument("workspace", type=Path, help="workspace folder (holding train/, test/ and .roadseg/)")
    parser.add_argument("--backend", choices=("local", "sagemaker"),
                        help="where to train (default: sagemaker when a role ARN is set, else local)")
    defaults = Hyperparameters()
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help=f"passes over the training pairs (default {defaults.epochs}; ignored with --minutes)")
    parser.add_argument("--minutes", type=float, default=defaults.minutes,
                        help="train for this wall-clock budget instead of --epochs; the learning rate decays with "
                             "it (on SageMaker it also sets the job's max run time)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"tiles per step, per GPU (default {defaults.batch_size})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"peak learning rate (default {defaults.lr:g})")
    parser.add_argument("--backbone", default=defaults.backbone,
                        choices=("mobilenet_v3_large", "resnet50", "resnet101"),
                        help="DeepLabV3 encoder: mobilenet_v3_large is fast, resnet50/101 more accurate and slower")
    parser.add_argument("--image-size", type=int, default=defaults.image_size,
                        help="training crop size (default: 256 px on a CPU, 512 on a GPU)")
    parser.add_argument("--workers", type=int, help="data loader processes")
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable run (default: the trainer's)")
    parser.add_argument("--pretrained", choices=("true", "false"),
                        help="start from ImageNet backbone weights (default: when available)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="start from a fresh model (ImageNet backbone when available) instead of fine-tuning "
                             "the current model (or the shipped starter model when there is none)")
    parser.add_argument("--fine-tune", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument("--instance-type", help="SageMaker instance type (default: from the settings)")
    parser.add_argument("--instance-count", type=int, help="SageMaker instances (default: from the settings)")
    parser.add_argument("--spot", choices=("true", "false"), help="managed spot training (default: settings)")
    parser.add_argument("--no-sync", action="store_true",
                        help="refuse to launch on SageMaker if accepted tiles are not on S3, instead of syncing")
    parser.add_argument("--no-wait", action="store_true", help="launch and return; follow later with --attach")
    parser.add_argument("--attach", metavar="JOB", help="follow a job launched earlier instead of launching")
    parser.add_argument("--activate", action="store_true",
                        help="activate the new model when it is back (one worse on every metric: after a yes at "
                             "the terminal, or with --activate-worse)")
    parser.add_argument("--activate-worse", action="store_true",
                        help="with --activate: activate the new model even when it is worse on every metric")
    parser.add_argument("--rollback", action="store_true", help="go back to the previously active model and exit")
    parser.add_argument("--list", action="store_true", help="list remembered jobs and models and exit")
    parser.add_argument("--interval", type=float, default=None, help="seconds between status polls")
    parser.set_defaults(func=run)


def _out(text: str = "") -> None:
    print(text, flush=True)


def run(args) -> int:
    from ..core import retrain  # imports torch: only when this command runs, not for every `roadseg`

    root = args.workspace.resolve()
    if not (root / ".roadseg").is_dir() and not (root / "train").is_dir():
        raise BadInputError("is not a roadseg workspace", "Give the folder that holds train/ and test/.", root)
    if args.rollback:
        record = retrain.rollback(root)
        _out(f"active model: {record.version} ({record.path})")
        return 0
    if args.list:
        return _list(root)
    if args.attach:
        job = next((j for j in retrain.all_jobs(root) if j.name == args.attach), None)
        if job is None:
            raise BadInputError(f"no job named {args.attach} in this workspace", "See roadseg retrain --list.")
        runner = retrain.reattach(root, job)
    else:
        settings = WorkspaceSettings.load(root)
        backend = args.backend or retrain.default_backend(settings)
        summary = retrain.summarize(root, check_sync=backend == "sagemaker")
        hyper = Hyperparameters(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, backbone=args.backbone,
                                image_size=args.image_size, workers=args.workers, seed=args.seed,
                                pretrained=None if args.pretrained is None else args.pretrained == "true",
                                minutes=args.minutes)
        if args.from_scratch and args.fine_tune:
            raise BadInputError("--from-scratch and --fine-tune contradict each other", "Pass one of them.")
        _out(f"training on: {summary.describe()}")
        _out(f"current model: {summary.current_version or summary.current_model or 'none'}")
        init_model, starts_from = retrain.initial_model(summary, args.from_scratch)
        _out(f"starts from: {_starts_from(starts_from, init_model, args.from_scratch)}")
        _out(f"backend: {backend}; hyperparameters: {hyper.to_dict()}")
        runner = retrain.start(root, backend, hyper, sync=not args.no_sync, instance_type=args.instance_type,
                               instance_count=args.instance_count,
                               use_spot=None if args.spot is None else args.spot == "true",
                               from_scratch=args.from_scratch)
        _out(f"job {runner.job.name} started ({runner.job.backend}: {_where(runner.job)})")
        if args.no_wait:
            _out(f"follow it with: roadseg retrain {root} --attach {runner.job.name}")
            return 0
    return _follow(root, runner, args)


def _epoch_summary(epoch: dict) -> str:
    values = {k: epoch.get(k, "-") for k in ("epoch", "train_loss", "test_iou", "test_f1")}
    text = "  > epoch {epoch}: loss {train_loss} test IoU {test_iou} F1 {test_f1}".format(**values)
    tested = epoch.get("metrics_epoch")
    if isinstance(tested, float) and int(tested) != epoch["epoch"]:
        text += f" (tested after epoch {int(tested)})"  # testing is skipped on epochs where it would dominate
    if isinstance(epoch.get("progress"), float):
        text += f"; {epoch['progress']:.0%} done"
    return text


def _starts_from(kind: str, path: str | None, chosen: bool) -> str:
    if kind == "current":
        return f"the current model (fine-tuning; --from-scratch for a fresh model) {path}"
    if kind == "starter":
        return f"the shipped starter model (fine-tuning; the workspace has no model) {path}"
    return "a fresh model (--from-scratch)" if chosen else "a fresh model (no current or starter model to fine-tune)"


def _where(job) -> str:
    details = job.details
    if job.backend == "local":
        return f"{details.get('device', '')}, log {details.get('log', '')}"
    spot = "spot" if details.get("use_spot") else "on-demand"
    where = f"{details.get('instance_count')} x {details.get('instance_type')} {spot} in {details.get('region')}"
    return where + (f", image {details['image']}" if details.get("image") else "")


def _follow(root: Path, runner, args) -> int:
    from ..core import retrain

    interval = args.interval or (1.0 if runner.job.backend == "local" else 10.0)
    tracker = MetricsTracker()
    last = None
    try:
        while True:
            status = runner.refresh()
            lines = runner.poll()
            for line in lines:
                _out(f"  | {line}")
                for epoch in tracker.feed(line):
                    _out(_epoch_summary(epoch))
            described = status.describe()
            if described != last:
                last = described
                cost = runner.cost_estimate()
                extra = f"; {cost.describe()}" if cost else ""
                _out(f"[{_clock(status.elapsed())}] status: {described}{extra}")
            retrain.remember(root, runner.job)
            if status.terminal:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        _out(f"stopping job {runner.job.name} ...")
        runner.stop()
        status = runner.wait(timeout=60, interval=1.0)
        retrain.remember(root, runner.job)
        _out(f"status: {status.describe()}")
        return 130
    if status.state != JobState.COMPLETED:
        print(f"error: job {runner.job.name} {status.state.value.lower()}"
              + (f": {status.failure_reason}" if status.failure_reason else ""), file=sys.stderr)
        return 1
    _out("bringing the model back and evaluating it against the current one ...")
    comparison = retrain.bring_back(root, runner)
    _out(comparison.describe())
    if args.activate and _confirmed(comparison, args.activate_worse):
        record = retrain.activate(root, comparison.new.version)
        _out(f"activated {record.version} ({record.path})")
    elif not args.activate:
        verdict = {True: "better or equal", False: "worse", None: "no current model to compare"}[comparison.better]
        _out(f"new model {comparison.new.version}: {verdict}; not activated "
             f"(the app's retrain panel, or --activate next time)")
    return 0


def _confirmed(comparison, forced: bool) -> bool:
    """Whether to activate: a model worse on every metric needs --activate-worse, or a yes at the terminal."""
    if not comparison.worse_everywhere or forced:
        return True
    _out(comparison.worse_sentence())
    if sys.stdin.isatty():
        try:
            answer = input("Activate it anyway? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() in ("y", "yes"):
            return True
    _out(f"not activated: the current model stays active ({comparison.new.version} is in the model list; "
         "--activate-worse activates a worse model without asking)")
    return False


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _list(root: Path) -> int:
    from ..core import retrain
    from ..core.models import ModelRegistry

    for job in retrain.all_jobs(root):
        _out(f"job {job.name} [{job.backend}] {job.status.describe()} model={job.model_version or '-'}")
    registry = ModelRegistry(root)
    try:
        active = registry.active()
        for record in registry.records():
            record.active = bool(active and active.version == record.version)
            iou = record.metrics.get("iou")
            _out(f"model {record.version}{' (active)' if record.active else ''} [{record.backend}] "
                 f"job={record.job_name or '-'} parent={record.parent or '-'} "
                 f"iou={'-' if iou is None else f'{iou:.4f}'} created={record.created}")
    finally:
        registry.close()
    return 0
