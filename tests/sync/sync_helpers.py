"""Sync test helpers: synthetic workspaces, a bucket on the moto server, a request counter,
and a moto server that can be stopped and started again on the same port."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import numpy as np
from moto.server import ThreadedMotoServer

from roadseg_gui.core.settings import WorkspaceSettings
from trainer.imageio import write_mask_png
from trainer.synthetic import write_dataset

BUCKET = "roadseg-test"
PREFIX = "sagemaker/seg-data"
URI = f"s3://{BUCKET}/{PREFIX}"


def make_workspace(root: Path, endpoint: str, train: int = 6, test: int = 2, seed: int = 0) -> Path:
    write_dataset(root, train=train, test=test, size=32, seed=seed)
    settings = WorkspaceSettings.load(root)
    settings.s3.endpoint_url = endpoint
    settings.save(root)
    return root


def edit_mask(root: Path, stem: str, value: int = 1) -> Path:
    """Change a mask's content the way accepting a corrected tile does (atomic rewrite)."""
    path = next(root.glob(f"*/masks/{stem}.png"))
    mask = np.zeros((32, 32), bool)
    mask[value % 32, :] = True
    mask[:, (value * 7) % 32] = True
    write_mask_png(path, mask)
    return path


def remote_objects(client, bucket: str = BUCKET, prefix: str = PREFIX) -> dict[str, str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    return {o["Key"][len(prefix) + 1:]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def local_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for split in ("train", "test") for p in (root / split).rglob("*")
            if p.is_file()}


def run_cli(argv: list[str]) -> int:
    """``roadseg`` with only the sync commands registered, handling errors as cli.main does.

    cli.main imports every command module; some import heavy SDKs at module level, which
    would make each call here take seconds without testing anything of sync's.
    """
    from roadseg_gui.cli import cmd_pull, cmd_sync
    from trainer.errors import RoadsegError

    parser = argparse.ArgumentParser(prog="roadseg")
    subparsers = parser.add_subparsers()
    cmd_sync.register(subparsers)
    cmd_pull.register(subparsers)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RoadsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run_process(argv: list[str]) -> subprocess.CompletedProcess:
    """The real ``roadseg`` CLI in its own process (the whole entry point, ~2 s to start)."""
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", *argv], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


class RequestCounter:
    """Counts S3 operations a client sends, from botocore's own event hooks (no mocking)."""

    def __init__(self, client):
        self.calls: Counter[str] = Counter()
        self.headers: list[tuple[str, dict]] = []
        self.methods: list[str] = []          # HTTP method of each entry in headers
        client.meta.events.register("before-call.s3", self._on_call)
        client.meta.events.register("before-send.s3", self._on_send)

    def _on_call(self, model, **_):
        self.calls[model.name] += 1

    def _on_send(self, request, **_):
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        self.headers.append((request.url, headers))
        self.methods.append(request.method)

    def puts(self) -> list[tuple[str, dict]]:
        return [h for h, method in zip(self.headers, self.methods) if method == "PUT"]


def reset_moto(endpoint: str) -> None:
    """ThreadedMotoServer keeps state in process-wide backends: start every test from empty."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)


def make_bucket(endpoint: str, bucket: str = BUCKET):
    reset_moto(endpoint)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return client


class CuttableProxy:
    """A TCP relay whose stop() drops every open connection at once, mid-request if need be.

    moto's server keeps serving keep-alive connections after shutdown(); cutting them
    here is what makes "the server went away" real for a client with a connection pool.
    """

    def __init__(self, port: int, target_port: int):
        self.port, self.target_port = port, target_port
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.1)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class RestartableServer:
    """A moto server that can go away (connections cut, server stopped) and come back on the
    same endpoint. ThreadedMotoServer keeps S3 state in this process's moto backends, so the
    restarted server serves the same objects: a restart with durable storage, as S3 has."""

    def __init__(self, port: int, moto_port: int):
        self.port, self.moto_port = port, moto_port
        self.server: ThreadedMotoServer | None = None
        self.proxy = CuttableProxy(port, moto_port)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self.server.start()
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.stop()
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()
            self.server = None
