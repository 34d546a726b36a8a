"""What this installation ships under resources/: the demo workspace's source and the starter model.

Its own module so that the demo (which installs the starter model) and the model registry (which
fine-tunes from it when a workspace has no model) both name the paths without importing each other.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO_SOURCE = RESOURCES / "demo"
STARTER_MODEL = RESOURCES / "models" / "starter"
