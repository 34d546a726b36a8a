"""Workspace, state database, mask editing, S3 sync and settings. No Qt here (tested)."""
