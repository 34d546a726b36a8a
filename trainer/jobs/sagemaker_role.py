"""The app's own check of the SageMaker execution role, instead of the SDK's.

The SDK (``resolve_and_validate_role``) simulates a fixed list of actions without resources or
condition context: the VPC network actions (only a job in a VPC needs them), and
``cloudwatch:PutMetricData`` without its namespace, so a least-privilege role that scopes it
to ``/aws/sagemaker/TrainingJobs`` is refused. It also lets an IAM endpoint's non-XML answer
escape as ``ResponseParserError``. So the launch switches the SDK's check off and checks what this
job really does: the role trusts SageMaker (``iam:GetRole``) and may read this workspace's data,
write under ``PREFIX/jobs/``, log, send metrics and pull this job's image
(``iam:SimulatePrincipalPolicy`` with the concrete resources and condition keys). Both calls are
optional permissions of the app's user: without them, or when IAM cannot answer, the role is not
checked, the reason is logged, and SageMaker judges the role at CreateTrainingJob. The SDK's own
switch, ``SAGEMAKER_VALIDATE_ROLE=false``, switches this check off too.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import RoadsegError

log = logging.getLogger(__name__)

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException")
_NO_SUCH_ROLE = ("NoSuchEntity", "NoSuchEntityException")


@dataclass(frozen=True)
class Need:
    """Actions the job performs on one resource, with the condition keys the request carries."""
    actions: tuple[str, ...]
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    what: str = ""


@dataclass
class RoleCheck:
    checked: bool
    note: str


def role_needs(config, image_uri: str, region: str) -> list[Need]:
    """What a training job of this workspace does with its execution role."""
    partition, account = config.role_arn.split(":")[1], config.role_arn.split(":")[4]
    bucket, prefix, jobs = config.bucket, config.prefix.strip("/"), config.jobs_prefix
    data = f"{prefix}/" if prefix else ""
    s3 = f"arn:{partition}:s3:::{bucket}"
    return [
        Need(("s3:ListBucket",), s3, (("s3:prefix", f"{data}train/"),), f"list s3://{bucket}/{data}train/"),
        Need(("s3:GetObject",), f"{s3}/{data}train/example.jpg", (), "read the training pairs"),
        Need(("s3:GetObject",), f"{s3}/{jobs}/roadseg/example/input/code/example.py", (), "read the staged code"),
        Need(("s3:PutObject",), f"{s3}/{jobs}/output/example/output/model.tar.gz", (),
             "write checkpoints and the model under the jobs prefix"),
        _log_need(partition, region, account, LOG_GROUP, "roadseg-example/algo-1", "write the training log"),
        Need(("cloudwatch:PutMetricData",), "*", (("cloudwatch:namespace", LOG_GROUP),), "send training metrics"),
        *_image_needs(partition, image_uri),
    ]


def processing_needs(config, image_uri: str, region: str, *, job_name: str, input_uri: str, output_uri: str,
                     model_uri: str) -> list[Need]:
    """What a scene-prediction Processing job does with its execution role: read its manifest, code, scenes
    (wherever they are) and model, write the outputs, log, and pull its image."""
    partition, account = config.role_arn.split(":")[1], config.role_arn.split(":")[4]
    s3 = f"arn:{partition}:s3:::"
    staging = f"{config.jobs_prefix}/{job_name}"
    scenes_bucket, scenes = _split_s3(input_uri)
    out_bucket, out = _split_s3(output_uri)
    model_bucket, model = _split_s3(model_uri)
    model_object = model if model.endswith((".tar.gz", ".tgz")) else f"{model.rstrip('/')}/model.tar.gz"
    return [
        Need(("s3:GetObject",), f"{s3}{config.bucket}/{staging}/scenes.manifest", (), "read the scene manifest"),
        Need(("s3:ListBucket",), f"{s3}{config.bucket}", (("s3:prefix", f"{staging}/code/"),), "list the staged code"),
        Need(("s3:GetObject",), f"{s3}{config.bucket}/{staging}/code/{job_name}/source/sourcedir.tar.gz", (),
             "read the staged code"),
        Need(("s3:GetObject",), f"{s3}{scenes_bucket}/{scenes}example.tif", (), f"read the scenes under {input_uri}"),
        # the container lists each scene's folder for its sidecars (.tfw, .aux.xml, a VRT's sources)
        Need(("s3:ListBucket",), f"{s3}{scenes_bucket}", (("s3:prefix", scenes),),
             f"list the scenes' folders under {input_uri} (for their sidecar files)"),
        Need(("s3:ListBucket",), f"{s3}{model_bucket}", (("s3:prefix", model),), f"list the model input {model_uri}"),
        Need(("s3:GetObject",), f"{s3}{model_bucket}/{model_object}", (), "read the model"),
        Need(("s3:PutObject",), f"{s3}{out_bucket}/{out}example_mask.tif", (), f"write the outputs under {output_uri}"),
        _log_need(partition, region, account, PROCESSING_LOG_GROUP, f"{job_name}/algo-1-1700000000",
                  "write the job's log"),
        *_image_needs(partition, image_uri),
    ]


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key.lstrip("/")


def _log_need(partition: str, region: str, account: str, group: str, stream: str, what: str) -> Need:
    return Need(("logs:CreateLogStream", "logs:PutLogEvents"),
                f"arn:{partition}:logs:{region}:{account}:log-group:{group}:log-stream:{stream}", (), what)


def _image_needs(partition: str, image_uri: str) -> list[Need]:
    needs = [Need(("ecr:GetAuthorizationToken",), "*", (), "log in to ECR")]
    registry, _, repository = image_uri.partition("/")
    if ".dkr.ecr." in registry:
        image_account, image_region = registry.split(".")[0], registry.split(".")[3]
        name = repository.split(":")[0].split("@")[0]
        needs.append(Need(("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"),
                          f"arn:{partition}:ecr:{image_region}:{image_account}:repository/{name}", (),
                          f"pull the image {image_uri}"))
    return needs


def kms_need(config, region: str, kms=None) -> tuple[Need | None, str]:
    """(the need on the workspace's KMS key, or None; why it is not checked). An alias, bare or as an ARN, is
    not the key IAM authorises: it is resolved to the key's ARN (kms:DescribeKey), else left unchecked."""
    key = config.kms_key_id
    if not key:
        return None, ""
    partition, account = config.role_arn.split(":")[1], config.role_arn.split(":")[4]
    if key.startswith("alias/") or ":alias/" in key:
        try:
            if kms is None:
                raise RuntimeError("no KMS client")
            key = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
        except Exception as exc:  # noqa: BLE001 - AccessDenied, NotFound, no network: the key is just not checked
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            return None, f"the KMS alias {config.kms_key_id} could not be resolved to its key ({code}), so its use " \
                         f"was not checked"
    elif not key.startswith("arn:"):
        key = f"arn:{partition}:kms:{region}:{account}:key/{key}"
    return Need(("kms:Decrypt", "kms:GenerateDataKey"), key, (), "use the bucket's KMS key"), ""


def check_execution_role(iam, config, image_uri: str, region: str, needs: list[Need] | None = None,
                         kms=None) -> RoleCheck:
    """Refuse a role that cannot run this job; return whether it could be checked, and why not.

    ``needs``: what the job does (default: a training job's, role_needs); ``kms``: a KMS client to resolve
    an alias of the workspace's key."""
    role = config.role_arn
    if os.environ.get("SAGEMAKER_VALIDATE_ROLE", "true").strip().lower() in ("false", "0", "no"):
        return _unchecked(role, "SAGEMAKER_VALIDATE_ROLE switches role validation off")
    needs = list(role_needs(config, image_uri, region) if needs is None else needs)
    key, key_note = kms_need(config, region, kms)
    needs += [key] if key else []
    try:
        trust = _trusted_services(iam, role)
        if SAGEMAKER_PRINCIPAL not in trust:
            raise RoadsegError(f"the execution role {role} does not let SageMaker assume it",
                               f"Add {SAGEMAKER_PRINCIPAL} to its trust policy (see the README's AWS section).")
        missing = [(need, action) for need in needs for action in _denied(iam, role, need)]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _NO_SUCH_ROLE:
            raise RoadsegError(f"the execution role {role} does not exist",
                               "Check the role ARN in the SageMaker settings.") from exc
        reason = (f"your user may not call {exc.operation_name}" if code in _ACCESS_DENIED
                  else f"IAM answered {exc.operation_name} with {code or 'an error'}")
        return _unchecked(role, reason)
    except BotoCoreError as exc:
        return _unchecked(role, f"IAM could not be reached ({exc})")
    except Exception as exc:  # noqa: BLE001 - e.g. ResponseParserError: an HTML error page instead of IAM's answer
        if isinstance(exc, RoadsegError):
            raise
        return _unchecked(role, f"IAM's answer could not be read ({type(exc).__name__})")
    if missing:
        listed = "; ".join(f"{action} on {need.resource} (to {need.what})" for need, action in missing)
        raise RoadsegError(f"the execution role {role} lacks {listed}",
                           "Grant them to the role (the README's AWS section lists its policy).")
    note = f"execution role {role} checked: it trusts SageMaker and may do what the job needs"
    if key_note:
        log.warning("%s", key_note)
    return RoleCheck(True, note + (f"; {key_note}" if key_note else ""))


def _unchecked(role: str, reason: str) -> RoleCheck:
    note = f"the execution role {role} was not checked before launch: {reason}; SageMaker will judge it"
    log.warning(note)
    return RoleCheck(False, note)


def _trusted_services(iam, role_arn: str) -> set[str]:
    document = iam.get_role(RoleName=role_arn.split(":role/", 1)[1].split("/")[-1])["Role"].get(
        "AssumeRolePolicyDocument") or {}
    if isinstance(document, str):  # IAM may return it URL-encoded
        document = json.loads(unquote(document))
    services: set[str] = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        service = (statement.get("Principal") or {}).get("Service", [])
        services.update([service] if isinstance(service, str) else service)
    return services


def _denied(iam, role_arn: str, need: Need) -> list[str]:
    kwargs = {"PolicySourceArn": role_arn, "ActionNames": list(need.actions)}
    if need.resource != "*":
        kwargs["ResourceArns"] = [need.resource]
    if need.context:
        kwargs["ContextEntries"] = [{"ContextKeyName": key, "ContextKeyValues": [value],
                                     "ContextKeyType": "string"} for key, value in need.context]
    denied = []
    for page in iam.get_paginator("simulate_principal_policy").paginate(**kwargs):
        for result in page.get("EvaluationResults", []):
            if result.get("EvalDecision") == "allowed" or _unverifiable(result):
                continue
            denied.append(result["EvalActionName"])
    return denied


def _unverifiable(result: dict) -> bool:
    """An implicit deny the simulator cannot judge (conditional SCPs, permission boundaries): not held against the role."""
    if result.get("EvalDecision") == "explicitDeny":
        return False
    organizations = (result.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations")
    boundary = (result.get("PermissionsBoundaryDecisionDetail") or {}).get("AllowedByPermissionsBoundary")
    return organizations is False or boundary is False
