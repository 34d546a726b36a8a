"""No AWS credential reaches stdout, stderr, the workspace or the user's folders, even with -v.

Every command that talks to AWS runs as a real process with -v against a moto server on loopback,
with fake credentials shaped like real ones; then every byte it wrote is searched for them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from roadseg_gui.core import log_redaction
from roadseg_gui.core.log_redaction import MASK, redact

KEY_ID = "AKIAQ7XZ3PLMN2RT5VWY"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1k"
TOKEN = "IQoJb3JpZ2luX2VjEJr" + "FwoGZXIvYXdzEBYaDHhbG9uZ3Rva2VuZm9ydGVzdGluZ3B1cnBvc2Vz" * 6 + "Xy9K+w=="
SECRETS = (KEY_ID, SECRET, TOKEN)
BUCKET, PREFIX = "secrets-bucket", "sagemaker/seg-data"
ROOT = Path(__file__).resolve().parents[2]


def test_redact_catches_each_shape_and_leaves_ordinary_text():
    line = (f"headers={{'X-Amz-Security-Token': b'{TOKEN}', 'Authorization': b'AWS4-HMAC-SHA256 "
            f"Credential={KEY_ID}/20260101/us-east-1/s3/aws4_request'}} secret {SECRET} asia "
            f"ASIAABCDEFGHIJKLMNOP")
    text = redact(line)
    assert not any(s in text for s in SECRETS) and "ASIAABCDEFGHIJKLMNOP" not in text and MASK in text
    ordinary = ("sha1 3f786850e387550fdab836ed7e6dc881de23001b etag d41d8cd98f00b204e9800998ecf8427e "
                "/home/Alice/Projects/Roads/Tiles/Scene01/chips/a.png AKIA short")
    assert redact(ordinary) == ordinary


def test_installed_factory_redacts_msg_args_and_tracebacks_of_any_logger(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    previous = logging.getLogRecordFactory()
    monkeypatch.setattr(log_redaction, "_installed", False)
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    handler = Keep()
    logger = logging.getLogger("some.library.deep.inside")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        log_redaction.install(quiet_aws=False)
        logger.debug("token %s and key %s", TOKEN, KEY_ID)
        logger.info({"SecretAccessKey": SECRET})
        try:
            raise ValueError(f"bad key {KEY_ID}")
        except ValueError:
            logger.exception("failed with %s", SECRET)
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)
    assert len(seen) == 3 and "bad key" in seen[2] and "Traceback" in seen[2]
    assert not any(s in text for s in SECRETS for text in seen)


def _fake_aws_env(tmp_path: Path, endpoint: str) -> dict:
    home = tmp_path / "home"
    for sub in ("config", "cache", "state", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_ENDPOINT_URL=endpoint, AWS_MAX_ATTEMPTS="1", SAGEMAKER_VALIDATE_ROLE="false",
               AWS_EC2_METADATA_DISABLED="true", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
               XDG_DATA_HOME=str(home / "data"), OMP_NUM_THREADS="1", ROADSEG_PRETRAINED="0",
               PYTHONPATH=str(ROOT))
    return env


def _files_holding_secrets(*folders: Path) -> list[str]:
    hits = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits += [f"{path}: {s[:8]}…" for s in SECRETS if s.encode() in data]
    return hits


def _model_archive(tmp_path: Path) -> Path:
    from trainer.artifact import ModelMeta, pack_model, save_model_dir
    from trainer.model import build_model

    return pack_model(save_model_dir(build_model(), ModelMeta(image_size=64), tmp_path / "model"),
                      tmp_path / "model.tar.gz")


def _scene(path: Path) -> Path:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=64, height=48, count=3, dtype="uint8",
                       crs="EPSG:32611", transform=from_origin(500000.0, 4000000.0, 0.5, 0.5)) as dst:
        dst.write(np.full((3, 48, 64), 90, np.uint8))
    return path


def _roadseg(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", "-v", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_aws_commands_with_verbose_logs_leak_no_credential(tmp_path, s3_server):
    from roadseg_gui.core.settings import WorkspaceSettings
    from roadseg_gui.core.workspace import Workspace
    from trainer.synthetic import write_dataset

    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    workspace = write_dataset(tmp_path / "ws", train=3, test=1, size=32, seed=5)
    Workspace.open(workspace).close()
    env = _fake_aws_env(tmp_path, s3_server)
    runs = {"sync": _roadseg(env, "sync", str(workspace), "--to", f"s3://{BUCKET}/{PREFIX}", "--endpoint-url",
                             s3_server, "--region", "us-east-1", "--no-progress")}
    pulled = tmp_path / "pulled"
    runs["pull"] = _roadseg(env, "pull", f"s3://{BUCKET}/{PREFIX}", str(pulled), "--endpoint-url", s3_server,
                            "--region", "us-east-1", "--no-progress")
    settings = WorkspaceSettings.load(workspace)
    settings.sagemaker.role_arn = "arn:aws:iam::123456789012:role/RoadsegSageMaker"
    settings.sagemaker.instance_type = "ml.g4dn.xlarge"
    settings.save(workspace)
    runs["retrain"] = _roadseg(env, "retrain", str(workspace), "--backend", "sagemaker", "--epochs", "1",
                               "--no-wait")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.upload_file(str(_scene(tmp_path / "scene.tif")), BUCKET, "scenes/scene.tif")
    runs["predict"] = _roadseg(env, "predict", "--backend", "sagemaker", "--workspace", str(workspace),
                               "--no-wait", "--model", str(_model_archive(tmp_path)),
                               f"s3://{BUCKET}/scenes/", "--out", f"s3://{BUCKET}/predictions/")
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {run.stdout}\n{run.stderr}"
        for secret in SECRETS:
            assert secret not in run.stdout and secret not in run.stderr, f"{name} printed {secret[:8]}…"
    assert "DEBUG" in runs["retrain"].stderr  # -v was on: debug lines were written, just not the secrets
    assert _files_holding_secrets(workspace, pulled, Path(env["HOME"])) == []


def test_the_app_installs_redaction_at_start_up(tmp_path):
    env = _fake_aws_env(tmp_path, "http://127.0.0.1:9")
    code = ("import logging; from roadseg_gui import app; app._setup_logging(); "
            f"logging.getLogger('roadseg_gui.x').warning('key %s', {SECRET!r}); "
            f"logging.getLogger('botocore.endpoint').debug('token {TOKEN}'); "
            f"logging.getLogger('other').error('id {KEY_ID}')")
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "key [REDACTED]" in run.stderr and "id [REDACTED]" in run.stderr
    assert not any(s in run.stderr for s in SECRETS)
    assert _files_holding_secrets(Path(env["HOME"])) == []
