"""SQLiteDatabase: WAL, per-thread connections, transactions and versioned migrations."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from milkmobs.adapters.local.sqlite_db import MAIN_MIGRATIONS, Migration, SQLiteDatabase
from milkmobs.domain import BackendUnavailableError, ConfigurationError


def test_a_new_database_is_in_wal_mode_at_the_latest_schema(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        conn = db.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        assert db.schema_version() == MAIN_MIGRATIONS[-1].version
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"videos", "mobs", "executions", "events", "model_usage", "video_counters"} <= tables
    finally:
        db.close()


def test_migrations_run_once_and_later_ones_upgrade_existing_data(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    v1 = (Migration(1, ("CREATE TABLE things (name TEXT)",)),)
    db = SQLiteDatabase(path, migrations=v1)
    with db.write() as conn:
        conn.execute("INSERT INTO things VALUES ('kept')")
    db.close()
    db = SQLiteDatabase(path, migrations=v1)  # reopening at the same version changes nothing
    db.close()
    v2 = (*v1, Migration(2, ("ALTER TABLE things ADD COLUMN size INTEGER NOT NULL DEFAULT 0",)))
    db = SQLiteDatabase(path, migrations=v2)
    try:
        assert db.schema_version() == 2
        assert db.connection().execute("SELECT name, size FROM things").fetchall() == [("kept", 0)]
    finally:
        db.close()


def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    v1 = (Migration(1, ("CREATE TABLE things (name TEXT)",)),)
    SQLiteDatabase(path, migrations=v1).close()
    broken = (*v1, Migration(2, ("CREATE TABLE more (x INTEGER)", "THIS IS NOT SQL")))
    with pytest.raises(ConfigurationError, match="migration 2"):
        SQLiteDatabase(path, migrations=broken)
    db = SQLiteDatabase(path, migrations=v1)
    try:
        assert db.schema_version() == 1
        tables = {row[0] for row in db.connection().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "more" not in tables  # the half-applied migration was rolled back
    finally:
        db.close()


def test_a_database_from_a_newer_milkmobs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ConfigurationError, match="newer"):
        SQLiteDatabase(path)


def test_each_thread_gets_its_own_connection(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(id(db.connection())))
        thread.start()
        thread.join()
        assert seen and seen[0] != id(db.connection())
        assert db.connection() is db.connection()
    finally:
        db.close()


def test_a_failed_transaction_is_rolled_back(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute("INSERT INTO video_counters VALUES ('x', 1)")
            raise RuntimeError("boom")
        assert db.connection().execute("SELECT COUNT(*) FROM video_counters").fetchone()[0] == 0
    finally:
        db.close()


def test_a_closed_database_raises_backend_unavailable(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    db.close()
    with pytest.raises(BackendUnavailableError):
        db.connection()


def test_memory_paths_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        SQLiteDatabase(Path(":memory:"))


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        for _ in range(5):  # short-lived threads, as a per-task helper would make
            thread = threading.Thread(target=lambda: db.connection().execute("SELECT 1").fetchall())
            thread.start()
            thread.join()
        db.connection()  # opening one prunes the dead threads' connections
        assert len(db._all) <= 2  # this thread's, plus at most the last helper's
    finally:
        db.close()


def test_sqlite_failures_surface_as_backend_unavailable(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(BackendUnavailableError, match="failed a read"), db.read() as conn:
            conn.execute("SELECT * FROM no_such_table")
        with pytest.raises(BackendUnavailableError, match="failed a write"), db.write() as conn:
            conn.execute("INSERT INTO video_counters VALUES ('x', 1)")
            conn.execute("INSERT INTO no_such_table VALUES (1)")
        assert db.connection().execute("SELECT COUNT(*) FROM video_counters").fetchone()[0] == 0  # rolled back
    finally:
        db.close()


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "db.sqlite3")
    try:
        inside, release = threading.Event(), threading.Event()

        def first() -> None:
            with db.write() as conn:
                conn.execute("INSERT INTO video_counters VALUES ('first', 1)")
                inside.set()
                release.wait(5)

        thread = threading.Thread(target=first)
        thread.start()
        inside.wait(5)
        threading.Timer(0.2, release.set).start()
        with db.write() as conn:  # blocks on the lock (busy_timeout) until the first commits
            conn.execute("INSERT INTO video_counters VALUES ('second', 1)")
        thread.join()
        names = [row[0] for row in db.connection().execute("SELECT name FROM video_counters ORDER BY rowid")]
        assert names == ["first", "second"]
    finally:
        db.close()
