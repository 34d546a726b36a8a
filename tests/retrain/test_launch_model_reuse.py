"""The model sent with a job is packed deterministically and stored once per content, not once per launch.

REAL: pack_model writes real model.tar.gz files; upload_init_model talks to moto's S3 server on loopback,
and each PutObject is read as botocore sends it.
"""

from __future__ import annotations

import os
import urllib.request

import boto3
import pytest

from trainer.artifact import pack_model, unpack_model
from trainer.jobs.sagemaker_backend import SageMakerConfig, make_boto_session, upload_init_model

BUCKET = "reuse-bucket"


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    (folder / "code").mkdir(parents=True)
    (folder / "model.pth").write_bytes(os.urandom(4096))   # packed and uploaded, never loaded here
    (folder / "model.json").write_text('{"version": "abc"}\n', "utf-8")
    (folder / "code" / "inference.py").write_text("# serving code\n", "utf-8")
    return folder


def test_packing_the_same_model_twice_gives_the_same_bytes(model_dir, tmp_path):
    first = pack_model(model_dir, tmp_path / "first.tar.gz").read_bytes()
    for path in model_dir.rglob("*"):          # another checkout, another day: times and modes differ
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (model_dir / "model.json").chmod(0o600)
    second = pack_model(model_dir, tmp_path / "second.tar.gz").read_bytes()
    assert first == second
    unpacked = unpack_model(tmp_path / "second.tar.gz", tmp_path / "unpacked")
    assert (unpacked / "model.pth").read_bytes() == (model_dir / "model.pth").read_bytes()


def test_a_second_launch_reuses_the_model_already_on_s3(model_dir, s3_server, tmp_path):
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    config = SageMakerConfig(role_arn="arn:aws:iam::123456789012:role/R", bucket=BUCKET, prefix="team",
                             region="us-east-1", s3_endpoint_url=s3_server, sse="AES256")
    session = make_boto_session(config)
    puts: list = []
    session.events.register("provide-client-params.s3.PutObject", lambda params, **_: puts.append(params["Key"]))
    uris, stored = [], []
    for launch_number in range(2):
        tmp = tmp_path / f"launch{launch_number}"
        tmp.mkdir()
        uris.append(upload_init_model(config, session, model_dir, tmp, uploaded=stored))
        os.utime(model_dir / "model.pth", (1_800_000_000, 1_800_000_000))
    assert uris[0] == uris[1] and uris[0].startswith(f"s3://{BUCKET}/team/jobs/init-models/")
    assert len(puts) == 1 and stored == puts      # the second launch found its copy by content hash
    # a copy stored without the encryption the workspace now asks for is stored again
    config.sse = "aws:kms"
    tmp = tmp_path / "launch-kms"
    tmp.mkdir()
    upload_init_model(config, session, model_dir, tmp, uploaded=stored)
    assert len(puts) == 2
