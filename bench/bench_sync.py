"""Benchmark: roadseg push vs `aws s3 sync`, same data, same local moto server, one run.

    .venv/bin/python bench/bench_sync.py [--pairs 2000] [--changed 10] [--rounds 3]

Starts `moto_server` on a free loopback port, writes N small synthetic pairs, then
times, each against its own bucket:
  initial push of every pair   - aws s3 sync | roadseg push (API, in-process) | `roadseg sync` (CLI process)
  re-sync after changing 10 masks (median of --rounds rounds, different masks each round)
and prints the times and the ratios roadseg / aws (targets: initial <= 1x, incremental <= 0.25x).

The API figure is what the app pays (a long-lived process); the CLI figure includes
starting Python and importing every `roadseg` subcommand, as the aws figure includes
starting the aws CLI. Our hash cache is emptied before each initial push, so that
push hashes every file as a first sync would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PREFIX = "sagemaker/seg-data"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("moto_server did not start")


def write_pairs(root: Path, pairs: int) -> None:
    from trainer.synthetic import write_dataset
    test = pairs // 10
    write_dataset(root, train=pairs - test, test=test, size=64, seed=0)


def change_masks(root: Path, count: int, round_: int) -> None:
    import numpy as np
    from trainer.imageio import write_mask_png
    masks = sorted((root / "train" / "masks").glob("*.png"))
    for i, path in enumerate(masks[round_ * count:(round_ + 1) * count]):
        mask = np.zeros((64, 64), bool)
        mask[(i + 7 * round_) % 64, :] = True
        write_mask_png(path, mask)


def timed(fn) -> float:
    """Wall seconds of fn(); its client CPU seconds (this process + finished children) go in CPU."""
    wall, cpu0 = time.perf_counter(), client_cpu()
    fn()
    wall = time.perf_counter() - wall
    timed.cpu = client_cpu() - cpu0
    return wall


def client_cpu() -> float:
    import resource
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def aws_sync(root: Path, bucket: str, endpoint: str, env: dict) -> None:
    subprocess.run([str(BIN / "aws"), "s3", "sync", str(root), f"s3://{bucket}/{PREFIX}",
                    "--exclude", ".roadseg/*", "--exclude", "unlabeled/*", "--endpoint-url", endpoint,
                    "--only-show-errors"], env=env, check=True)


def cli_sync(root: Path, bucket: str, env: dict) -> None:
    subprocess.run([str(BIN / "roadseg"), "sync", str(root), "--to", f"s3://{bucket}/{PREFIX}", "--no-progress"],
                   env=env, check=True, stdout=subprocess.DEVNULL)


LEAN = ("import argparse, sys; from roadseg_gui.cli import cmd_sync; p = argparse.ArgumentParser(); "
        "cmd_sync.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")


def lean_sync(root: Path, bucket: str, env: dict) -> None:
    """The sync command in a process that imports only it (what `roadseg sync` costs once the
    other subcommands import their SDKs lazily)."""
    subprocess.run([sys.executable, "-c", LEAN, "sync", str(root), "--to", f"s3://{bucket}/{PREFIX}",
                    "--no-progress"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def api_sync(root: Path, bucket: str) -> None:
    from roadseg_gui.core.sync import push
    report = push(root, f"s3://{bucket}/{PREFIX}")
    assert report.failed == 0 and report.conflicts == 0, report.errors


def forget_hashes(root: Path) -> None:
    from roadseg_gui.core.sync import state
    conn = state.connect(root)
    conn.execute("DELETE FROM sync_hashes")
    conn.close()


def count_objects(client, bucket: str) -> int:
    return sum(page.get("KeyCount", 0) for page in
               client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX + "/"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    os.environ.update(env)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = start_moto(port)
    work = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    # The timed processes keep their bytecode as an installed program does: with PYTHONDONTWRITEBYTECODE
    # set, roadseg (an editable install) would recompile its own modules on every run (~0.08 s of CPU)
    # while pip precompiled aws's. The initial push writes roadseg's __pycache__ (git-ignored).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        import boto3

        from roadseg_gui.core.settings import WorkspaceSettings
        client = boto3.client("s3", endpoint_url=endpoint)
        for bucket in ("bench-aws", "bench-api", "bench-cli", "bench-lean"):
            client.create_bucket(Bucket=bucket)
        root = work / "ws"
        write_pairs(root, args.pairs)
        settings = WorkspaceSettings.load(root)
        settings.s3.endpoint_url = endpoint
        settings.save(root)
        print(f"{args.pairs} pairs ({2 * args.pairs} files, "
              f"{sum(p.stat().st_size for p in root.rglob('*') if p.is_file()) / 2**20:.1f} MiB) "
              f"-> moto_server {endpoint}; {os.cpu_count()} CPUs")

        t_aws = timed(lambda: aws_sync(root, "bench-aws", endpoint, env))
        c_aws = timed.cpu
        forget_hashes(root)
        t_api = timed(lambda: api_sync(root, "bench-api"))
        c_api = timed.cpu
        forget_hashes(root)
        t_cli = timed(lambda: cli_sync(root, "bench-cli", env))
        c_cli = timed.cpu
        forget_hashes(root)
        t_lean = timed(lambda: lean_sync(root, "bench-lean", env))
        c_lean = timed.cpu
        for bucket in ("bench-aws", "bench-api", "bench-cli", "bench-lean"):
            assert count_objects(client, bucket) == 2 * args.pairs, bucket

        rounds = {"aws": [], "api": [], "cli": [], "lean": []}
        cpu = {"aws": [], "api": [], "cli": [], "lean": []}
        for r in range(args.rounds):
            change_masks(root, args.changed, r)
            for name, run in (("aws", lambda: aws_sync(root, "bench-aws", endpoint, env)),
                              ("api", lambda: api_sync(root, "bench-api")),
                              ("cli", lambda: cli_sync(root, "bench-cli", env)),
                              ("lean", lambda: lean_sync(root, "bench-lean", env))):
                rounds[name].append(timed(run))
                cpu[name].append(timed.cpu)
        inc = {k: statistics.median(v) for k, v in rounds.items()}
        inc_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        startup = timed(lambda: subprocess.run([str(BIN / "roadseg"), "--help"], env=env, check=True,
                                               stdout=subprocess.DEVNULL))

        print(f"\ninitial push of {args.pairs} pairs")
        print(f"  aws s3 sync            {t_aws:7.2f} s")
        print(f"  roadseg push (API)     {t_api:7.2f} s   ratio {t_api / t_aws:5.2f}x  (target <= 1x)")
        print(f"  roadseg sync (CLI)     {t_cli:7.2f} s   ratio {t_cli / t_aws:5.2f}x")
        print(f"  sync-only process      {t_lean:7.2f} s   ratio {t_lean / t_aws:5.2f}x")
        print(f"re-sync after changing {args.changed} masks (median of {args.rounds})")
        print(f"  aws s3 sync            {inc['aws']:7.3f} s   rounds {', '.join(f'{x:.3f}' for x in rounds['aws'])}")
        print(f"  roadseg push (API)     {inc['api']:7.3f} s   ratio {inc['api'] / inc['aws']:5.2f}x  (target <= 0.25x)"
              f"   rounds {', '.join(f'{x:.3f}' for x in rounds['api'])}")
        print(f"  roadseg sync (CLI)     {inc['cli']:7.3f} s   ratio {inc['cli'] / inc['aws']:5.2f}x"
              f"   rounds {', '.join(f'{x:.3f}' for x in rounds['cli'])}")
        print(f"  sync-only process      {inc['lean']:7.3f} s   ratio {inc['lean'] / inc['aws']:5.2f}x"
              f"   rounds {', '.join(f'{x:.3f}' for x in rounds['lean'])}")
        print("client CPU seconds (less sensitive to other load on the machine; server excluded)")
        print(f"  initial      aws {c_aws:6.2f}  api {c_api:6.2f} ({c_api / c_aws:4.2f}x)  cli {c_cli:6.2f} "
              f"({c_cli / c_aws:4.2f}x)  sync-only {c_lean:6.2f} ({c_lean / c_aws:4.2f}x)")
        print(f"  incremental  aws {inc_cpu['aws']:6.2f}  api {inc_cpu['api']:6.2f} "
              f"({inc_cpu['api'] / inc_cpu['aws']:4.2f}x)  cli {inc_cpu['cli']:6.2f} "
              f"({inc_cpu['cli'] / inc_cpu['aws']:4.2f}x)  sync-only {inc_cpu['lean']:6.2f} "
              f"({inc_cpu['lean'] / inc_cpu['aws']:4.2f}x)")
        print(f"  (`roadseg --help` alone takes {startup:.2f} s: Python start + importing every subcommand)")
    finally:
        moto.terminate()
        try:
            moto.wait(10)
        except subprocess.TimeoutExpired:   # a loaded machine: do not leave it running
            moto.kill()
            moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
