"""Runs ``python -m trainer.train`` for the local backend and plays SageMaker's part around it.

Started by :mod:`trainer.jobs.local` as ``python -m trainer.jobs.local_supervisor JOB_DIR`` in its
own process group, so the app can quit and re-attach later: everything it knows goes to files in
JOB_DIR (status.json, train.log, output/model.tar.gz). Like the SageMaker platform it
sets the SM_* environment, waits for the script, packs SM_MODEL_DIR into model.tar.gz, and turns
a crash into a FailureReason.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..fsutil import atomic_write_text

SPEC = "spec.json"
STATUS = "status.json"
LOG = "train.log"
_ERROR_LINE = re.compile(r"^(error: .+|[A-Za-z_][\w.]*(Error|Exception)\b.*)$")


def write_status(job_dir: Path, **values) -> None:
    path = job_dir / STATUS
    try:
        current = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        current = {}
    current.update(values)
    atomic_write_text(path, json.dumps(current, indent=1))


def failure_reason(job_dir: Path, returncode: int) -> str:
    """SageMaker-style reason: the script's failure file, else its last error line, else the exit code."""
    failure_file = job_dir / "output" / "failure"
    if failure_file.is_file():
        text = failure_file.read_text("utf-8", errors="replace").strip()
        if text:
            return f"AlgorithmError: {text[:1000]}"
    try:
        tail = (job_dir / LOG).read_bytes()[-20000:].decode("utf-8", errors="replace").splitlines()
    except OSError:
        tail = []
    for line in reversed(tail):
        if _ERROR_LINE.match(line.strip()):
            return f"AlgorithmError: {line.strip()} (exit code {returncode})"
    return f"AlgorithmError: the training script exited with code {returncode}"


def child_environment(job_dir: Path, spec: dict) -> dict:
    env = dict(os.environ)
    env.update({
        "SM_CHANNEL_TRAIN": spec["train"],
        "SM_CHANNEL_TEST": spec["test"],
        "SM_MODEL_DIR": str(job_dir / "model"),
        "SM_OUTPUT_DIR": str(job_dir / "output"),
        "SM_OUTPUT_DATA_DIR": str(job_dir / "output" / "data"),
        "SM_NUM_GPUS": str(spec.get("num_gpus", 0)),
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
        "SM_HPS": json.dumps(spec["hyperparameters"]),
        "TRAINING_JOB_NAME": spec["name"],
        "PYTHONUNBUFFERED": "1",
    })
    env.update(spec.get("env") or {})
    return env


def run(job_dir: Path) -> int:
    spec = json.loads((job_dir / SPEC).read_text("utf-8"))
    for sub in ("model", "checkpoints", "output/data"):
        (job_dir / sub).mkdir(parents=True, exist_ok=True)
    flags = []
    for key, value in spec["hyperparameters"].items():
        flags += [f"--{key}", str(value)]
    flags += ["--checkpoint-dir", str(job_dir / "checkpoints")]
    command = [sys.executable, "-u", "-m", "trainer.train", *flags]
    print(f"[roadseg local job {spec['name']}] {' '.join(command)}", flush=True)

    stopping = {"flag": False}
    child: subprocess.Popen | None = None

    def on_term(signum, frame):  # forward, and remember that this is a stop and not a crash
        stopping["flag"] = True
        write_status(job_dir, state="Stopping", secondary="Stop requested")
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, on_term)

    write_status(job_dir, state="Training", secondary="Training", supervisor_pid=os.getpid())
    child = subprocess.Popen(command, env=child_environment(job_dir, spec), stdin=subprocess.DEVNULL)
    if stopping["flag"]:  # the stop arrived while the child was being started
        child.send_signal(signal.SIGTERM)
    # import torch (for packing) while the script trains, not after: it takes seconds
    threading.Thread(target=_preload_packer, daemon=True).start()
    while True:
        try:
            returncode = child.wait()
            break
        except InterruptedError:  # pragma: no cover - wait() retries on EINTR itself
            continue
    now = time.time()
    if stopping["flag"]:
        write_status(job_dir, state="Stopped", secondary="Stopped", ended=now)
        print(f"[roadseg local job {spec['name']}] stopped", flush=True)
        return 0
    if returncode != 0:
        write_status(job_dir, state="Failed", secondary="Failed", ended=now,
                     failure_reason=failure_reason(job_dir, returncode))
        return returncode
    return pack(job_dir, spec)


def _preload_packer() -> None:
    try:
        from .. import artifact  # noqa: F401
    except Exception:  # noqa: BLE001 - pack() reports the problem if it persists
        pass


def pack(job_dir: Path, spec: dict) -> int:
    from ..artifact import pack_model  # imports torch: only once training is over

    write_status(job_dir, state="Uploading", secondary="Packing model.tar.gz")
    tar_path = job_dir / "output" / "model.tar.gz"
    try:
        pack_model(job_dir / "model", tar_path)
    except Exception as exc:  # noqa: BLE001 - becomes the job's failure reason, as on SageMaker
        write_status(job_dir, state="Failed", secondary="Failed", ended=time.time(),
                     failure_reason=f"ClientError: the model could not be packed: {exc}")
        return 1
    write_status(job_dir, state="Completed", secondary="Completed", ended=time.time(), artifact=str(tar_path))
    print(f"[roadseg local job {spec['name']}] model packed: {tar_path}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m trainer.jobs.local_supervisor JOB_DIR", file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    try:
        return run(job_dir)
    except Exception as exc:  # noqa: BLE001 - must end in a status, never a silent death
        write_status(job_dir, state="Failed", secondary="Failed", ended=time.time(),
                     failure_reason=f"InternalServerError: the local job runner failed: {exc!r}")
        raise


if __name__ == "__main__":
    sys.exit(main())
