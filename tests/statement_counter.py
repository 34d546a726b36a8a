"""Count the SQL statements the app sends, to check work does not grow with the tile count (no timing)."""

from __future__ import annotations

from roadseg_gui.core import statedb


class CountingConnection:
    """A state DB connection that counts the statements Python sends (executemany counts once)."""

    def __init__(self, conn):
        self._conn = conn
        self.calls = 0

    def execute(self, *args):
        self.calls += 1
        return self._conn.execute(*args)

    def executemany(self, *args):
        self.calls += 1
        return self._conn.executemany(*args)

    def executescript(self, *args):
        self.calls += 1
        return self._conn.executescript(*args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def count_statements(monkeypatch) -> list[CountingConnection]:
    """Make every statedb.connect() return a counting connection; the list fills as connections open."""
    connections: list[CountingConnection] = []
    real_connect = statedb.connect

    def connect(root):
        connections.append(CountingConnection(real_connect(root)))
        return connections[-1]

    monkeypatch.setattr(statedb, "connect", connect)
    return connections
