"""Creating a SageMaker job is one step from the user's side.

- Ctrl+C before the SDK's part of the launch: nothing is created, and what was staged on S3 is deleted.
- Ctrl+C during the SDK's part is deferred: the SDK's telemetry wrapper of ``FrameworkProcessor.run`` and
  ``ModelTrainer.train`` ends in ``finally: return``, which swallows a KeyboardInterrupt (the launch then
  "succeeded" without a job). Before the create call (``arm``) a deferred Ctrl+C cancels the launch;
  from the create call on, the job is created, remembered (``on_created``), then stopped.
- A launch that fails without creating a job deletes what it staged too (``StagedObjects``).
- A launch whose SDK call failed after SageMaker created the job (a later call failed, or the create call's
  answer was lost) asks SageMaker for the job by its name: when it exists it is remembered and followed.

Signals can only be deferred in the main thread; elsewhere (the app's workers) there is no Ctrl+C to defer.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from ..errors import RoadsegError

log = logging.getLogger(__name__)

INTERRUPT_NOTICE = ("Ctrl+C: the job is being created; it is stopped (or never made) as soon as SageMaker "
                    "has answered")


class LaunchInterrupted(KeyboardInterrupt):
    """Ctrl+C during a launch; the message says what became of the job."""


class CreationCancelled(RoadsegError):
    """Raised inside the SDK right before the create call, after a deferred Ctrl+C (the SDK re-raises errors)."""


class StagedObjects:
    """What a launch stored on S3 for its job: deleted again when no job is created."""

    def __init__(self, s3):
        self.s3 = s3
        self.keys: list[tuple[str, str]] = []
        self.prefixes: list[tuple[str, str]] = []   # folders the SDK fills itself (code, helper scripts)

    def add(self, bucket: str, key: str) -> None:
        self.keys.append((bucket, key))

    def add_prefix(self, bucket: str, prefix: str) -> None:
        self.prefixes.append((bucket, prefix.rstrip("/") + "/"))

    def delete(self) -> None:
        """Best effort: a failure to clean up is logged, never raised over the launch's own error."""
        keys = list(self.keys)
        try:
            for bucket, prefix in self.prefixes:
                for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                    keys += [(bucket, item["Key"]) for item in page.get("Contents", [])]
            for bucket, key in keys:
                self.s3.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001 - the launch's own error is what the user must see
            log.warning("could not delete what the launch staged on S3 (%s); it is under %s", exc,
                        ", ".join(f"s3://{b}/{p}" for b, p in self.prefixes) or "the jobs prefix")


class CreationGuard:
    """Defers Ctrl+C while the SDK works (``defer``); ``arm`` right before the create call."""

    def __init__(self):
        self.interrupted = False
        self.armed = False
        self._previous = None

    def defer(self) -> None:
        if self._previous is None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._defer)

    def arm(self) -> None:
        """Called right before the create request: cancel if Ctrl+C came first, else the job is being made."""
        if self.interrupted:
            raise CreationCancelled("the launch was interrupted before the job was created")
        self.armed = True

    def disarm(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _defer(self, signum, frame) -> None:
        if not self.interrupted:
            print(INTERRUPT_NOTICE, file=sys.stderr, flush=True)
        self.interrupted = True


def create_atomically(guard: CreationGuard, staged: StagedObjects, create, *, exists, on_created, stop, name,
                      finish=None, record=None):
    """Run ``create()`` (staging, then the create call, arming ``guard`` just before it); returns its job record.

    ``exists()``: whether the job was created after all (asked only when ``create`` raised once armed);
    ``record()``: the job record of a job created though ``create`` raised (the SDK failed after the create
    call, or its answer was lost): it is remembered and followed like any other, or stopped after a Ctrl+C;
    ``on_created(job)``: remember it; ``finish(job)``: further calls on the created job (still deferred);
    ``stop(job)``: stop it (returning how, when not "is being stopped"); ``name(job)``: how messages name it."""
    try:
        job = create()
    except BaseException as exc:
        job = _created_after_all(guard, staged, exc, exists, record, name)
        if job is None:
            raise
        if isinstance(exc, KeyboardInterrupt):   # not deferred (no main thread to defer it in): stop the job
            guard.interrupted = True
    try:
        on_created(job)
        if finish is not None:
            try:
                finish(job)
            except Exception:
                log.warning("%s was created and is remembered; follow or stop it from the jobs list.",
                            _capital(name(job)))
                raise
    finally:
        guard.disarm()
    if guard.interrupted:
        try:
            outcome = stop(job) or "is being stopped"
        except Exception as exc:  # noqa: BLE001 - say so; the job is remembered and can be stopped later
            outcome = f"could NOT be stopped ({exc}); stop it in the SageMaker console"
        on_created(job)
        raise LaunchInterrupted(f"{name(job)} was created and {outcome}")
    return job


def _created_after_all(guard: CreationGuard, staged: StagedObjects, error: BaseException, exists, record, name):
    """After ``create`` raised: the job record when SageMaker made the job all the same, else None (what was
    staged is then deleted, unless whether the job exists cannot be told: it may be using it)."""
    created = None
    if guard.armed:
        try:
            created = exists()
        except Exception as exc:  # noqa: BLE001 - cannot tell: keep what was staged, the job may use it
            log.warning("Could not tell whether the job was created (%s): look for it in the SageMaker console; "
                        "what the launch staged on S3 is kept.", _reason(exc))
            guard.disarm()
            return None
    if created and record is not None:
        job = record()
        log.warning("%s was created, but the launch then failed (%s): it is remembered and followed; stop it "
                    "if it is not wanted.", _capital(name(job)), _reason(error))
        return job
    guard.disarm()
    if not created:
        staged.delete()
        if guard.interrupted:
            raise LaunchInterrupted("no job was created") from None
    return None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _reason(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
