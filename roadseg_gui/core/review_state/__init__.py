"""Review of accepted tiles: state (accepted / approved / returned), notes and agreement.

The state lives in the workspace state DB (``store``), travels through S3 as one small JSON
per pair (``transport``), and decisions are taken in ``decisions``. No Qt here.
"""

from .store import ACCEPTED, APPROVED, RETURNED, STATES, Note, ReviewRecord, all_records, get_record

__all__ = ["ACCEPTED", "APPROVED", "RETURNED", "STATES", "Note", "ReviewRecord", "all_records", "get_record"]
