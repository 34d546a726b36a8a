import sys
from pathlib import Path

# sync_helpers (workspaces, the moto bucket, the real CLI as a process) live in tests/sync.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "sync"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def s3_client(s3_server):
    from sync_helpers import make_bucket

    return make_bucket(s3_server)
