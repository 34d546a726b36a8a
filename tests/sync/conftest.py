"""Fixtures for the sync tests (helpers live in sync_helpers.py)."""

from __future__ import annotations

import socket

import pytest

from sync_helpers import RestartableServer, make_bucket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_client(s3_server):
    return make_bucket(s3_server)


@pytest.fixture
def restartable_server(aws_env):
    server = RestartableServer(_free_port(), _free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
