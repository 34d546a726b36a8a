"""Credentials, bucket and access problems become one sentence, never a traceback.

Access denial is real: moto's IAM enforcement (its /moto-api/reset-auth switch) checks a
user whose policy allows reading the bucket but not writing to it.
"""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.sync import SyncError, push
from roadseg_gui.core.sync.errors import describe

from sync_helpers import BUCKET, URI, make_workspace, run_cli


def test_missing_credentials_is_one_sentence_in_the_api_and_the_cli(tmp_path, s3_server, s3_client, monkeypatch,
                                                                   capsys):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")   # no instance role to find here
    with pytest.raises(SyncError, match="no AWS credentials were found via the standard AWS credential chain"):
        push(root, URI)
    assert run_cli(["sync", str(root), "--to", URI, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials") and "Traceback" not in err


def test_unknown_profile_and_missing_bucket(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    with pytest.raises(SyncError, match="the bucket s3://no-such-bucket-here does not exist"):
        push(root, "s3://no-such-bucket-here/data")
    settings = WorkspaceSettings.load(root)
    settings.s3.profile = "nobody"
    settings.save(root)
    with pytest.raises(SyncError, match="the AWS profile 'nobody' is not configured"):
        push(root, URI)


def _post(url: str, body: bytes) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST",
                                                  headers={"Content-Type": "text/plain"}), timeout=10)


def test_denied_access_is_reported_and_nothing_is_marked_synced(tmp_path, s3_server, s3_client, monkeypatch):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    iam = boto3.client("iam", endpoint_url=s3_server, region_name="us-east-1")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:HeadBucket", "s3:GetObject"],
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    _post(f"{s3_server}/moto-api/reset-auth", b"0")   # from now on moto checks IAM policies
    try:
        report = push(root, URI)
    finally:
        _post(f"{s3_server}/moto-api/reset-auth", b"inf")
    assert report.summary() == "uploaded=0 unchanged=0 conflicts=0 failed=2"
    assert any(f"access to s3://{BUCKET} is denied" in e for e in report.errors), report.errors
    assert s3_client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def _client_error(code: str, status: int, headers: dict | None = None) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}}}, "PutObject")


@pytest.mark.parametrize("exc, expected", [
    (_client_error("ExpiredToken", 400), "have expired"),
    (_client_error("InvalidAccessKeyId", 403), "rejected the AWS credentials"),
    (_client_error("PermanentRedirect", 301, {"x-amz-bucket-region": "eu-west-1"}), "it is in eu-west-1"),
    (_client_error("AccessDenied", 403), "is denied"),
    (_client_error("NoSuchBucket", 404), "does not exist"),
    (NoCredentialsError(), "no AWS credentials"),
])
def test_error_sentences(exc, expected):
    # Wrong regions and expired tokens cannot be produced by moto; the mapping is checked directly.
    message = str(describe(exc, bucket="b", region="us-east-1"))
    assert expected in message and "\n" not in message


def test_a_destination_that_does_not_answer_is_not_remembered(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    with pytest.raises(SyncError):
        push(root, "s3://typo-bucket/data")
    assert WorkspaceSettings.load(root).s3.bucket == ""


def test_a_first_pull_from_a_bucket_that_does_not_answer_remembers_nothing(tmp_path, s3_server, s3_client):
    from roadseg_gui.core.sync import pull

    root = tmp_path / "new"
    with pytest.raises(SyncError, match="does not exist"):
        pull("s3://typo-bucket/data", root, endpoint_url=s3_server)
    assert WorkspaceSettings.load(root).s3.bucket == ""
