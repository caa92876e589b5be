"""The page cache's data version is read from SQLite again after every commit, in this process or
another, and otherwise not at all (the WAL header it watches is the one SQLite changes per commit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.server.data_version import DataVersion


class Counted:
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.db.data_version()


def _bump(path: Path) -> None:
    writer = SQLiteDatabase(path)
    with writer.write() as conn:
        conn.execute("UPDATE data_version SET n = n + 1 WHERE id = 1")
    writer.close()


def _bump_in_another_process(path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root), os.environ.get("PYTHONPATH", "")]),
    }
    script = "import sys, pathlib; from tests.server.test_data_version import _bump; _bump(pathlib.Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True, timeout=60)


@pytest.fixture
def db(tmp_path: Path) -> SQLiteDatabase:
    database = SQLiteDatabase(tmp_path / "milkmobs.sqlite3")
    database.data_version()  # the reader's connection is open, as the worker's are
    yield database  # type: ignore[misc]
    database.close()


def test_unchanged_data_is_not_read_again(db: SQLiteDatabase) -> None:
    counted = Counted(db)
    version = DataVersion(counted, [db.path], recheck_seconds=3600)
    first = version()
    assert [version() for _ in range(100)] == [first] * 100
    assert counted.reads == 1
    version.close()


def test_a_commit_in_another_process_is_seen_by_the_next_call(db: SQLiteDatabase) -> None:
    counted = Counted(db)
    version = DataVersion(counted, [db.path], recheck_seconds=3600)
    seen = [version()]
    for _ in range(5):
        _bump_in_another_process(db.path)
        seen.append(version())
        assert version() == seen[-1]
    assert seen == list(range(seen[0], seen[0] + 6))  # every commit, none missed
    assert counted.reads == 6
    version.close()


def test_a_commit_in_this_process_is_seen_too(db: SQLiteDatabase) -> None:
    version = DataVersion(db.data_version, [db.path], recheck_seconds=3600)
    before = version()
    _bump(db.path)
    assert version() == before + 1
    version.close()


def test_without_a_header_to_watch_every_call_reads_sqlite(db: SQLiteDatabase, tmp_path: Path) -> None:
    counted = Counted(db)
    version = DataVersion(counted, [tmp_path / "nothing.sqlite3"], recheck_seconds=3600)
    for _ in range(3):
        version()
    assert counted.reads == 3
    version.close()


def test_an_old_version_is_read_again_even_without_a_commit(db: SQLiteDatabase) -> None:
    now = [0.0]
    counted = Counted(db)
    version = DataVersion(counted, [db.path], recheck_seconds=1.0, clock=lambda: now[0])
    version()
    now[0] = 0.5
    version()
    assert counted.reads == 1
    now[0] = 1.6
    version()
    assert counted.reads == 2
    version.close()
