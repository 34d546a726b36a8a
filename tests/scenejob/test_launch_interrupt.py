"""Ctrl+C at each step of a SageMaker launch, in a real ``roadseg`` process: a job is stopped or never made.

REAL: the ``roadseg`` CLI in its own process, SIGINT sent to it, moto's server on loopback behind
``HoldingProxy``, a plain forwarding HTTP proxy that holds one chosen request (before forwarding it, or
after, before answering) until the test has seen the process react to the signal, so each step is hit
deterministically. SIMULATED: StopTrainingJob, which moto lacks, is answered by the proxy and recorded; moto completes a
training job the moment it is made, so the proxy reports it InProgress, as SageMaker does a new job.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from .conftest import sagemaker_workspace, write_scene

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "interrupted"
NOTICE = "Ctrl+C: the job is being created"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class HoldingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to ``upstream``; the first one matching ``hold_when`` waits for ``release()``."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream.split("//", 1)[1]
        self.match, self.when, self.drop = None, "before", False
        self.arrived, self.released = threading.Event(), threading.Event()
        self.answers: dict[str, dict] = {}   # X-Amz-Target -> JSON answer, for actions moto lacks
        self.rewrites: dict[str, object] = {}   # X-Amz-Target -> function of moto's JSON answer
        self.answered: list[tuple[str, dict]] = []
        self.lost: set[str] = set()   # X-Amz-Target actions forwarded, whose answer never reaches the client
        self.held_once = False
        self.seen: list[tuple[str, str, dict, bytes]] = []   # every request: method, path, headers, body
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hold(self, match, when: str = "before", drop: bool = False) -> None:
        self.match, self.when, self.drop = match, when, drop

    def release(self) -> None:
        self.released.set()

    def claims(self, method: str, path: str, target: str) -> bool:
        with self._lock:
            if self.match is None or self.held_once or not self.match(method, path, target):
                return False
            self.held_once = True
            return True


class _Forward(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size + 2)[:size]
                if not size:
                    break
                data += chunk
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self):
        proxy: HoldingProxy = self.server
        body = self._body()
        proxy.seen.append((self.command, self.path, dict(self.headers.items()), body))
        target = self.headers.get("X-Amz-Target", "")
        action = target.split(".")[-1]
        if action in proxy.answers:
            proxy.answered.append((action, json.loads(body or b"{}")))
            return self._reply(200, {"Content-Type": "application/x-amz-json-1.1"},
                               json.dumps(proxy.answers[action]).encode())
        held = proxy.claims(self.command, self.path, target)
        if held and proxy.when == "before":
            proxy.arrived.set()
            proxy.released.wait(300)
            if proxy.drop:   # the client gave up on it (Ctrl+C): it never reaches the server
                self.close_connection = True
                return
        upstream = http.client.HTTPConnection(proxy.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        upstream.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                         headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        if held and proxy.when == "after":
            proxy.arrived.set()
            proxy.released.wait(300)
        if action in proxy.lost:   # the server acted; the connection drops before its answer
            upstream.close()
            self.close_connection = True
            return
        if action in proxy.rewrites and answer.status == 200:
            data = json.dumps(proxy.rewrites[action](json.loads(data))).encode()
        self._reply(answer.status, {k: v for k, v in answer.getheaders() if k.lower() not in _HOP}, data,
                    head=self.command == "HEAD")
        upstream.close()

    def _reply(self, status: int, headers: dict, data: bytes, head: bool = False):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


@pytest.fixture
def proxy(s3_server):
    server = HoldingProxy(s3_server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.release()
        server.shutdown()
        server.server_close()


def start_roadseg(proxy_url: str, args: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, AWS_ENDPOINT_URL=proxy_url, OMP_NUM_THREADS="1", AWS_MAX_ATTEMPTS="1",
               SAGEMAKER_VALIDATE_ROLE="false", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "roadseg_gui.cli.main", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))


def interrupt_at_the_held_request(proc: subprocess.Popen, proxy: HoldingProxy, log: Path, deferred: bool) -> str:
    """SIGINT once the held request has arrived; a deferred one is released when the process said so."""
    assert proxy.arrived.wait(240), log.read_text()
    assert proc.poll() is None, log.read_text()
    os.kill(proc.pid, signal.SIGINT)
    if deferred:
        deadline = time.monotonic() + 120
        while NOTICE not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)   # waiting for a line the process prints, not for an amount of time
        assert NOTICE in log.read_text(), log.read_text()
        proxy.release()
    assert proc.wait(240) == 130, log.read_text()
    return log.read_text()


@pytest.fixture
def archive(s3_server, tmp_path):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    path, _ = write_scene(tmp_path / "scene.tif", width=64, height=64)
    s3.upload_file(str(path), BUCKET, "scenes/a.tif")
    root = tmp_path / "ws"
    sagemaker_workspace(root, BUCKET)
    return s3, root


def _predict_args(root: Path, model) -> list[str]:
    return ["predict", "--backend", "sagemaker", "--workspace", str(root), "--model", str(model),
            f"s3://{BUCKET}/scenes/", "--out", f"s3://{BUCKET}/predictions/"]


def _remembered(root: Path) -> list:
    from roadseg_gui.core.jobs_store import JobsStore

    with JobsStore(root) as store:
        return store.jobs()


@pytest.mark.parametrize("step", ["manifest", "sdk-code"])
def test_ctrl_c_while_staging_creates_nothing_and_leaves_nothing(archive, proxy, s3_server, model_archive, tmp_path,
                                                                step):
    """'manifest': the launch's own upload, interrupted at once; 'sdk-code': the SDK's upload of
    sourcedir.tar.gz, where the SDK would swallow a KeyboardInterrupt: deferred, then no job is created."""
    s3, root = archive
    name = "/scenes.manifest" if step == "manifest" else "/sourcedir.tar.gz"
    proxy.hold(lambda method, path, target: method == "PUT" and path.split("?")[0].endswith(name),
               drop=step == "manifest")
    log = tmp_path / "stderr.txt"
    proc = start_roadseg(proxy.url, _predict_args(root, model_archive), log)
    err = interrupt_at_the_held_request(proc, proxy, log, deferred=step == "sdk-code")
    assert "Traceback" not in err and "interrupted" in err
    if step == "sdk-code":
        assert "interrupted: no job was created" in err
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []
    assert _remembered(root) == []
    # the model, manifest and code it had stored are deleted again (the job that would use them never came)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="roadseg/"), err


def test_ctrl_c_during_the_create_call_stops_the_job_and_remembers_it(archive, proxy, s3_server, model_archive,
                                                                     tmp_path):
    """SageMaker made the job and its answer is held: the reported case, Ctrl+C just after
    "Creating processing-job" (it was swallowed, or left the job running unremembered)."""
    s3, root = archive
    proxy.hold(lambda method, path, target: target == "SageMaker.CreateProcessingJob", when="after")
    log = tmp_path / "stderr.txt"
    proc = start_roadseg(proxy.url, _predict_args(root, model_archive), log)
    err = interrupt_at_the_held_request(proc, proxy, log, deferred=True)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    jobs = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert len(jobs) == 1, err
    name = jobs[0]["ProcessingJobName"]
    assert sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Stopped"
    assert f"interrupted: processing job {name} was created and is being stopped" in err
    remembered = _remembered(root)
    assert [job.name for job in remembered] == [name] and remembered[0].status.state.value == "Stopping"
    assert "Traceback" not in err


def test_ctrl_c_while_the_new_job_is_followed_stops_it_and_the_jobs_list_says_so(archive, proxy, s3_server,
                                                                                 model_archive, tmp_path):
    s3, root = archive
    proxy.hold(lambda method, path, target: target == "SageMaker.DescribeProcessingJob", when="after")
    log = tmp_path / "stderr.txt"
    proc = start_roadseg(proxy.url, _predict_args(root, model_archive), log)
    err = interrupt_at_the_held_request(proc, proxy, log, deferred=False)
    sagemaker = boto3.client("sagemaker", endpoint_url=s3_server, region_name="us-east-1")
    jobs = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert len(jobs) == 1, err
    name = jobs[0]["ProcessingJobName"]
    assert sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Stopped"
    remembered = _remembered(root)
    assert [job.name for job in remembered] == [name] and remembered[0].status.state.value == "Stopping", err
