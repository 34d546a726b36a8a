"""The training log's machine-readable lines: one ``key=value`` line per epoch, read by
``trainer.jobs.metrics`` and SageMaker's ``metric_definitions``."""

from __future__ import annotations


EPOCH_KEYS = ("epoch", "train_loss", "test_loss", "test_iou", "test_f1", "test_precision", "test_recall",
              "test_accuracy", "test_background_accuracy", "test_cldice", "test_apls", "test_apls_raw", "lr", "seconds",
              "overhead", "metrics_epoch", "progress")   # test_apls(_raw): measured on the last epoch only


def _epoch_line(record: dict) -> str:
    """key=value, the order trainer.jobs.metrics and SageMaker's metric_definitions read; the test_ values
    are the last measured ones, from epoch ``metrics_epoch``."""
    return " ".join(f"{k}={_fmt(k, record[k])}" for k in EPOCH_KEYS if k in record)


def _fmt(key: str, value) -> str:
    if key == "lr":
        return f"{value:.6g}"
    if key == "seconds":
        return f"{value:.1f}"
    if key in ("overhead", "progress"):
        return f"{value:.3f}"
    return str(value) if isinstance(value, int) else f"{value:.4f}"
