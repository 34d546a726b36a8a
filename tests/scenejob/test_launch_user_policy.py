"""The README's policy for the app's user allows every AWS call a scene-job launch makes, read off the wire.

REAL: ``roadseg predict --backend sagemaker`` in its own process against moto's server, every request
recorded by a forwarding proxy (test_launch_interrupt.HoldingProxy, holding nothing here); each request is
mapped to its IAM action, resource and condition keys, and judged by moto's IAM policy engine against the
README's JSON with its placeholders filled in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from moto.iam.access_control import IAMPolicy, PermissionResult

from .test_launch_interrupt import BUCKET, ROOT, archive, proxy, start_roadseg  # noqa: F401  (fixtures)

ACCOUNT, REGION, ROLE = "123456789012", "us-east-1", "arn:aws:iam::123456789012:role/RoadsegSageMakerExecution"


def readme_user_policy(bucket: str, prefix: str) -> IAMPolicy:
    section = (ROOT / "README.md").read_text("utf-8").split("### IAM policy for the app's user", 1)[1]
    document = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    return IAMPolicy(document.replace("my-bucket", bucket).replace("sagemaker/seg-data", prefix)
                     .replace("eu-west-1", REGION))


def iam_requests(method: str, path: str, headers: dict, body: bytes) -> list[tuple[str, str, dict]]:
    """(action, resource, condition keys) that authorise one recorded request ([] for STS GetCallerIdentity)."""
    service = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", headers.get("Authorization", "")).group(1)
    if service == "s3":
        parts = urlsplit(path)
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        query = parse_qs(parts.query, keep_blank_values=True)
        if not key:
            if "location" in query:
                return [("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}", {})]
            if method == "POST" and "delete" in query:
                keys = re.findall(rb"<Key>(.*?)</Key>", body)
                return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{k.decode()}", {}) for k in keys]
            return [("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": query.get("prefix", [""])[0]})]
        action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "DELETE": "s3:DeleteObject"}.get(method,
                                                                                                "s3:PutObject")
        return [(action, f"arn:aws:s3:::{bucket}/{key}", {})]
    if service == "sts":
        return []   # GetCallerIdentity needs no permission
    if service == "sagemaker":
        operation = headers["X-Amz-Target"].split(".")[-1]
        request = json.loads(body or b"{}")
        name = request.get("ProcessingJobName") or request.get("TrainingJobName")
        kind = "processing-job" if "ProcessingJobName" in request else "training-job"
        needs = [(f"sagemaker:{operation}", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}", {})]
        if "RoleArn" in request:
            needs.append(("iam:PassRole", request["RoleArn"], {"iam:PassedToService": "sagemaker.amazonaws.com"}))
        return needs
    raise AssertionError(f"a call the test cannot judge yet: {service} {method} {path}")


def test_every_call_of_a_scene_job_launch_is_allowed_by_the_readme_user_policy(archive, proxy, model_archive,
                                                                               tmp_path):
    s3, root = archive
    log = tmp_path / "stderr.txt"
    proc = start_roadseg(proxy.url, ["predict", "--backend", "sagemaker", "--workspace", str(root), "--no-wait",
                                     "--role", ROLE, "--model", str(model_archive), f"s3://{BUCKET}/scenes/",
                                     "--out", f"s3://{BUCKET}/predictions/"], log)
    assert proc.wait(300) == 0, log.read_text()
    from roadseg_gui.core.settings import WorkspaceSettings

    policy = readme_user_policy(BUCKET, WorkspaceSettings.load(root).s3.prefix.strip("/"))
    judged = [need for method, path, headers, body in proxy.seen for need in iam_requests(method, path, headers, body)]
    refused = [need for need in judged if policy.is_action_permitted(need[0], need[1], None, need[2])
               != PermissionResult.PERMITTED]
    assert refused == [], refused
    actions = {action for action, _, _ in judged}
    assert {"sagemaker:CreateProcessingJob", "iam:PassRole", "s3:ListBucket", "s3:PutObject",
            "s3:GetBucketLocation"} <= actions
