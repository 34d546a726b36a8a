"""One sentence for any error that leaves boto3 or the SageMaker SDK during a launch.

The SDK lets botocore's errors through unchanged: a ClientError from S3 while it stages the code,
an S3UploadFailedError from boto3's transfer manager, a ResponseParserError when an endpoint
answers HTML (an IAM 500, a proxy's error page), connection errors. Each becomes a RoadsegError
that names the service it came from; the traceback goes to the debug log only.
"""

from __future__ import annotations

import logging
import re

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..errors import RoadsegError

log = logging.getLogger(__name__)

_S3_OPERATIONS = {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "HeadObject",
                  "GetObject", "ListObjects", "ListObjectsV2", "HeadBucket", "CreateBucket", "GetBucketLocation"}
# "... An error occurred (403) when calling the PutObject operation (reached max retries: 0): Forbidden"
_UPLOAD_FAILED = re.compile(r"\((?P<code>[^)]+)\) when calling the (?P<op>\w+) operation(?: \([^)]*\))?: ?(?P<msg>.*)",
                            re.S)


def _first_line(text: str, limit: int = 200) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _client_error_parts(exc: ClientError) -> tuple[str, str, str]:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "error"))
    return code, getattr(exc, "operation_name", "") or "", _first_line(error.get("Message") or "")


def server_side(exc: ClientError) -> bool:
    """A 5xx, or an HTML page in place of AWS's answer: trouble at AWS or a proxy, not a refusal."""
    message = str(exc.response.get("Error", {}).get("Message") or "").lstrip()
    return message.startswith("<") or int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500


def describe_aws_error(exc: BaseException, doing: str, s3_location: str = "") -> RoadsegError:
    """``doing`` says what was going on ("create the training job"); ``s3_location`` where S3 was written."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.parsers import ResponseParserError

    log.debug("AWS error while trying to %s", doing, exc_info=exc)
    where = f" under {s3_location}" if s3_location else ""
    s3_fix = ("Check that your user may s3:PutObject there and that the bucket policy accepts the upload "
              "(with its server-side encryption setting, if the policy requires one).")
    if isinstance(exc, S3UploadFailedError):
        found = _UPLOAD_FAILED.search(str(exc))
        code, operation, message = (found["code"], found["op"], _first_line(found["msg"])) if found else \
            ("error", "PutObject", _first_line(exc))
        return RoadsegError(f"S3 refused to store the job's files{where} ({operation}: {code}"
                            + (f", {message}" if message else "") + f") while trying to {doing}", s3_fix)
    if isinstance(exc, ClientError):
        code, operation, message = _client_error_parts(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if server_side(exc):
            body = "an HTML error page" if message.startswith("<") else (message or code)
            return RoadsegError(f"AWS answered {operation or 'a request'} with HTTP {status} ({body}) "
                                f"while trying to {doing}",
                                "That is on AWS's or a proxy's side: try again later, and check the proxy and "
                                "endpoint settings if it persists.")
        detail = f"{operation}: {code}" + (f", {message}" if message else "")
        if operation in _S3_OPERATIONS:
            return RoadsegError(f"S3 refused a request{where} ({detail}) while trying to {doing}", s3_fix)
        if operation in ("CreateTrainingJob", "CreateProcessingJob"):
            kind = "training" if operation == "CreateTrainingJob" else "processing"
            return RoadsegError(f"SageMaker refused the {kind} job ({code}"
                                + (f": {message}" if message else "") + ")",
                                "See the README's AWS section for the permissions and quotas needed.")
        return RoadsegError(f"AWS refused a request ({detail}) while trying to {doing}",
                            "See the README's AWS section for the permissions the app's user needs.")
    if isinstance(exc, NoCredentialsError):
        return RoadsegError(f"no AWS credentials were found while trying to {doing}",
                            "Run `aws configure` or `aws sso login`, or choose a profile in the workspace settings.")
    if isinstance(exc, ResponseParserError):
        return RoadsegError(f"an AWS endpoint answered with something that is not an AWS response (an error "
                            f"page or a proxy's answer) while trying to {doing}",
                            "Check the network, proxy and endpoint settings, then try again.")
    if isinstance(exc, BotoCoreError):
        return RoadsegError(f"cannot reach AWS while trying to {doing}: {_first_line(exc)}",
                            "Check the network connection and the endpoint settings.")
    return RoadsegError(f"the SageMaker SDK failed while trying to {doing} "
                        f"({type(exc).__name__}: {_first_line(exc)})",
                        "Run with -v for the details; the settings may hold a value the SDK cannot use.")
