"""S3 sync of corrected image/mask pairs: incremental, conflict-safe, resumable.

Public API: push, pull, pending_pairs, SyncReport, SyncProgress, make_s3_client,
plus conflict resolution (conflicts, keep_mine, take_theirs, fetch_theirs).
"""

from .conflicts import fetch_theirs, keep_mine, list_conflicts, take_theirs
from .client import Destination, make_s3_client, parse_s3_uri
from .errors import SyncError
from .plan import SyncPlan, build_plan, pending_pairs
from .pull import pull
from .push import push
from .report import SyncProgress, SyncReport

__all__ = ["Destination", "SyncError", "SyncPlan", "SyncProgress", "SyncReport", "build_plan",
           "fetch_theirs", "keep_mine", "list_conflicts", "make_s3_client", "parse_s3_uri", "pending_pairs",
           "pull", "push", "take_theirs"]
