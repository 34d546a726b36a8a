"""No AWS secret ever reaches a log: one record factory redacts every record, whatever its logger.

botocore's debug lines carry request headers (the session token, the access key id in the
signature's Credential=...), and an exception's text may quote a key. ``install()`` runs at the
start of the CLI and of the app; from then on each record's message (msg and args together), its
traceback text and its stack are redacted before any handler (stderr, log file, the app's log panel)
sees them. Values are caught by shape (AKIA/ASIA... key ids, 40-character secrets, long tokens) and,
for the credentials in this process's environment, by exact value.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "[REDACTED]"

# Access key ids: a 4-letter kind prefix (AKIA long-term, ASIA temporary, ...) and 16 more characters.
_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")
# Secret access keys: 40 random characters of base64, so upper case, lower case and a digit. Hex digests
# (sha1) have no upper case, and a path of 40 characters has more slashes (see _secret_or_path).
_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])"
                     r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# Session tokens (and other bearer blobs): a long unbroken run of base64.
_TOKEN = re.compile(r"[A-Za-z0-9/+]{100,}={0,2}")
# Named in text: 'X-Amz-Security-Token': b'...', aws_secret_access_key = ..., "SessionToken": "..."
_NAMED = re.compile(r"(?i)((?:x-amz-security-token|security[_-]?token|session[_-]?token|secret[_-]?access[_-]?key"
                    r"|aws_secret_access_key)['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,}]+)")

_ENV_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_NOISY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "sagemaker.core.helper.session_helper")


def redact(text: str, known: tuple[str, ...] = ()) -> str:
    """``text`` with every AWS credential-shaped value, and each of ``known``, replaced by [REDACTED]."""
    for value in known:
        if value and len(value) >= 8 and value in text:  # short values ('testing') are not secrets to hunt
            text = text.replace(value, MASK)
    text = _NAMED.sub(lambda m: m.group(1) + MASK, text)
    text = _TOKEN.sub(MASK, text)
    text = _SECRET.sub(_secret_or_path, text)
    return _KEY_ID.sub(MASK, text)


def _secret_or_path(match: re.Match) -> str:
    return match.group() if match.group().count("/") > 3 else MASK


def _known_secrets() -> tuple[str, ...]:
    return tuple(os.environ[name] for name in _ENV_SECRETS if os.environ.get(name))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its message (msg % args), traceback text and stack."""
    known = _known_secrets()
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what there is, as text
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message, known), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text, known)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, known)
    return record


class SecretRedactingFilter(logging.Filter):
    """For a handler that may get records made before ``install()`` (or by another factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install(quiet_aws: bool = True) -> None:
    """Redact every log record from now on (idempotent); and keep AWS libraries' debug chatter out."""
    global _installed
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
    if quiet_aws:
        # request headers at debug level are no use to a person reading -v output or the log panel
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
