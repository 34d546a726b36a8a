"""`roadseg-gui` on a Linux box with no screen says what to do instead of Qt's plugin error."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is Linux-only")
def test_no_display_gives_a_sentence_not_a_qt_plugin_error():
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM
    proc = subprocess.run([sys.executable, "-m", "roadseg_gui"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "needs a display" in proc.stderr and "xvfb-run" in proc.stderr
    assert "Traceback" not in proc.stderr
