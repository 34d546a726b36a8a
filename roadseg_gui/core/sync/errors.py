"""botocore failures -> one sentence a person can act on (SyncError).

Network faults are retried by botocore itself (standard/adaptive mode); what
reaches here has either exhausted its retries or cannot be fixed by retrying.
"""

from __future__ import annotations

from botocore.exceptions import (BotoCoreError, ClientError, ConnectionError as BotoConnectionError,
                                 CredentialRetrievalError, NoCredentialsError, NoRegionError,
                                 PartialCredentialsError, ProfileNotFound, ReadTimeoutError, SSOError,
                                 TokenRetrievalError)

from trainer.errors import RoadsegError

EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
REJECTED_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "InvalidClientTokenId"}
REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException",
                "301"}
DENIED_CODES = {"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"}
MISSING_BUCKET_CODES = {"NoSuchBucket"}


class SyncError(RoadsegError):
    """S3 cannot be used as configured (credentials, region, bucket, access, network)."""


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in ("PreconditionFailed", "412") or http_status(exc) == 412


def is_fatal(exc: BaseException) -> bool:
    """True when every further request would fail the same way, so the run should stop."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound, NoRegionError,
                        CredentialRetrievalError, SSOError, TokenRetrievalError, BotoConnectionError,
                        ReadTimeoutError)):
        return True
    code = error_code(exc)
    return code in EXPIRED_CODES | REJECTED_CODES | REGION_CODES | DENIED_CODES | MISSING_BUCKET_CODES


def describe(exc: BaseException, *, bucket: str = "", profile: str = "", region: str = "",
             endpoint: str = "") -> SyncError:
    """Turn any botocore failure into a SyncError whose message says what to fix."""
    where = f"s3://{bucket}" if bucket else "the bucket"
    who = f"profile '{profile}'" if profile else "the standard AWS credential chain"
    code = error_code(exc)
    if isinstance(exc, ProfileNotFound):
        return SyncError(f"the AWS profile '{profile}' is not configured",
                         "Create it with `aws configure --profile NAME` or choose another profile in the settings")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return SyncError(f"no AWS credentials were found via {who}",
                         "Run `aws configure` or `aws sso login`, or set AWS_PROFILE, then sync again")
    if isinstance(exc, (TokenRetrievalError, SSOError, CredentialRetrievalError)) or code in EXPIRED_CODES:
        return SyncError(f"the AWS credentials from {who} have expired",
                         "Refresh them (e.g. `aws sso login`) and sync again")
    if code in REJECTED_CODES:
        return SyncError(f"S3 rejected the AWS credentials from {who} ({code})",
                         "Check the access key or choose the right profile")
    if isinstance(exc, NoRegionError):
        return SyncError("no AWS region is configured", "Set the region in the workspace S3 settings")
    if code in REGION_CODES:
        actual = _bucket_region(exc)
        hint = f"it is in {actual}" if actual else "it lives in another region"
        return SyncError(f"{where} is not in region {region or 'configured'}: {hint}",
                         "Set the bucket's region in the workspace S3 settings")
    if code in MISSING_BUCKET_CODES or (code == "404" and not _has_key(exc)):
        return SyncError(f"the bucket {where} does not exist",
                         "Check the bucket name in the destination, or create the bucket")
    if code in DENIED_CODES:
        return SyncError(f"access to {where} is denied for {who}",
                         "Ask for s3:ListBucket, s3:GetObject and s3:PutObject on it, or use another profile")
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
        return SyncError(f"cannot reach S3 at {endpoint or 'the AWS endpoint'} ({type(exc).__name__})",
                         "Check the network or the endpoint URL and sync again; finished files are kept")
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        return SyncError(f"S3 error {code or http_status(exc)}: {message}")
    if isinstance(exc, BotoCoreError):
        return SyncError(f"AWS client error: {exc}")
    return SyncError(f"{type(exc).__name__}: {exc}")


def _bucket_region(exc: BaseException) -> str:
    if not isinstance(exc, ClientError):
        return ""
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers.get("x-amz-bucket-region") or exc.response.get("Error", {}).get("Region", "")


def _has_key(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and bool(exc.response.get("Error", {}).get("Key"))
