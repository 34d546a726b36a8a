"""IAM for the SageMaker tests: the README's execution role created in moto, and a policy simulator.

REAL: the role, its trust policy and its permissions are the README's JSON, created with IAM calls
on moto's server; iam:GetRole reads them back from there.
SIMULATED: moto 5.2 does not implement iam:SimulatePrincipalPolicy (it answers an HTML 500, which
is itself tested). ``install_simulator`` adds that action to the running moto server, deciding
each action with moto's own IAM policy engine over the role's stored policies, with the request's
resources and condition keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

README = Path(__file__).resolve().parents[2] / "README.md"
ACCOUNT = "123456789012"  # moto's account


def readme_role_policies(bucket: str, prefix: str, region: str) -> tuple[dict, dict]:
    """(trust policy, permissions policy) of the README's "What the SageMaker execution role needs"."""
    text = README.read_text("utf-8")
    section = text.split("### What the SageMaker execution role needs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", section, re.S)
    trust, permissions = blocks[0], blocks[1]
    permissions = (permissions.replace("my-bucket", bucket).replace("sagemaker/seg-data", prefix)
                   .replace("eu-west-1", region).replace("123456789012", ACCOUNT))
    return json.loads(trust), json.loads(permissions)


def create_role(endpoint: str, name: str, trust: dict, permissions: dict | None) -> str:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if permissions is not None:
        iam.put_role_policy(RoleName=name, PolicyName="roadseg-training", PolicyDocument=json.dumps(permissions))
    return arn


def create_readme_role(endpoint: str, name: str, bucket: str, prefix: str, region: str = "us-east-1") -> str:
    trust, permissions = readme_role_policies(bucket, prefix, region)
    return create_role(endpoint, name, trust, permissions)


def install_simulator(monkeypatch, caller_may_simulate: bool = True) -> list:
    """Teach the in-process moto server iam:SimulatePrincipalPolicy; returns the list of requests it answers.

    ``caller_may_simulate=False``: answer AccessDenied, as IAM does to a user without the permission."""
    from moto.core.exceptions import AccessDeniedError
    from moto.core.responses import ActionResult
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.responses import IamResponse

    requests: list = []

    def simulate_principal_policy(self):
        params = self._get_params()
        if not caller_may_simulate:
            raise AccessDeniedError(f"arn:aws:iam::{ACCOUNT}:user/annotator", "iam:SimulatePrincipalPolicy")
        role_name = params["PolicySourceArn"].split(":role/", 1)[1].split("/")[-1]
        policies = [self.backend.get_role_policy(role_name, name)[1]
                    for name in self.backend.list_role_policies(role_name)]
        context = {entry["ContextKeyName"]: entry["ContextKeyValues"][0]
                   for entry in params.get("ContextEntries") or []}
        resources = params.get("ResourceArns") or ["*"]
        requests.append((params["ActionNames"], resources, context))
        results = []
        for action in params["ActionNames"]:
            for resource in resources:
                verdicts = [IAMPolicy(policy).is_action_permitted(action, resource, None, context)
                            for policy in policies]
                allowed = PermissionResult.PERMITTED in verdicts and PermissionResult.DENIED not in verdicts
                results.append({"EvalActionName": action, "EvalResourceName": resource,
                                "EvalDecision": "allowed" if allowed else "implicitDeny"})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    monkeypatch.setattr(IamResponse, "simulate_principal_policy", simulate_principal_policy, raising=False)
    return requests


def reset_moto(endpoint: str) -> None:
    """moto keeps its state per process, not per server: start each test from an empty account."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
