"""One SQLite database file shared by the local stores: connections, transactions, schema migrations.

Why this shape:

- **A connection per thread.** ``sqlite3`` connections must not be used by two threads at once; the
  local server answers requests on worker threads while the pipeline runs on others. Each thread
  gets its own connection (created lazily, all closed by :meth:`SQLiteDatabase.close`).
- **WAL mode** lets readers proceed while one writer commits; ``busy_timeout`` makes a second
  writer wait instead of failing at once.
- **``BEGIN IMMEDIATE``** for every read-modify-write: the write lock is taken before the read, so
  two threads cannot both read status ``uploaded`` and both move it on.
- **``PRAGMA user_version``** numbers the schema; migrations run once, in order, in a transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from milkmobs.domain import BackendUnavailableError, ConfigurationError

#: How long a writer waits for another writer's lock before giving up (milliseconds).
DEFAULT_BUSY_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Migration:
    """Statements that take the schema from ``version - 1`` to ``version``."""

    version: int
    statements: tuple[str, ...]


#: The main database of the local backend. Append new migrations; never edit a released one.
MAIN_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        (
            # Videos: indexed columns for the list queries, the full record as JSON in ``body``,
            # the embedding as a little-endian float32 BLOB.
            """CREATE TABLE videos (
                video_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                status TEXT NOT NULL,
                mob_id TEXT,
                created_us INTEGER NOT NULL,
                body TEXT NOT NULL,
                embedding BLOB,
                embedding_model TEXT
            )""",
            "CREATE INDEX videos_by_created ON videos (created_us DESC, video_id DESC)",
            "CREATE INDEX videos_by_user ON videos (user_id, created_us DESC, video_id DESC)",
            "CREATE INDEX videos_by_status ON videos (status, created_us DESC, video_id DESC)",
            "CREATE INDEX videos_by_mob ON videos (mob_id, created_us DESC, video_id DESC) WHERE mob_id IS NOT NULL",
            # Admin stats as counters updated in the same transaction as the video rows.
            "CREATE TABLE video_counters (name TEXT PRIMARY KEY, value REAL NOT NULL)",
            """CREATE TABLE mobs (
                mob_id TEXT PRIMARY KEY,
                video_count INTEGER NOT NULL CHECK (video_count >= 0),
                version INTEGER NOT NULL,
                body TEXT NOT NULL,
                centroid BLOB NOT NULL
            )""",
            "CREATE INDEX mobs_by_size ON mobs (video_count DESC, mob_id)",
            """CREATE TABLE executions (
                execution_id TEXT PRIMARY KEY,
                video_id TEXT NOT NULL,
                started_us INTEGER NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX executions_by_video ON executions (video_id, started_us DESC, execution_id DESC)",
            """CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_bus TEXT NOT NULL,
                source TEXT NOT NULL,
                detail_type TEXT NOT NULL,
                detail TEXT NOT NULL,
                published_us INTEGER NOT NULL
            )""",
            """CREATE TABLE model_usage (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at_us INTEGER NOT NULL,
                model_id TEXT NOT NULL,
                model_type TEXT NOT NULL,
                invocations INTEGER NOT NULL,
                input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                video_seconds REAL NOT NULL
            )""",
            "CREATE INDEX model_usage_by_time ON model_usage (at_us)",
        ),
    ),
    Migration(
        2,
        (
            # One counter bumped by triggers on every change to what the read routes show (videos,
            # mobs, executions): servers in several processes compare it to know a cached answer is
            # still current, and no write path can forget to bump it.
            "CREATE TABLE data_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
            "INSERT INTO data_version (id, n) VALUES (1, 0)",
            *(
                f"CREATE TRIGGER {table}_{op.lower()}_bumps_version AFTER {op} ON {table}"
                " BEGIN UPDATE data_version SET n = n + 1 WHERE id = 1; END"
                for table in ("videos", "mobs", "executions")
                for op in ("INSERT", "UPDATE", "DELETE")
            ),
            # Analyses handed to the pipeline process: a row lives from the upload until its execution
            # ended, so a queued analysis survives the death of any process.
            "CREATE TABLE pipeline_jobs (video_id TEXT PRIMARY KEY, queued_us INTEGER NOT NULL)",
        ),
    ),
    Migration(
        3,
        (
            # One event per (detail type, video): a resumed workflow publishing again adds nothing.
            "ALTER TABLE events ADD COLUMN dedupe_key TEXT",
            "CREATE UNIQUE INDEX events_by_dedupe_key ON events (dedupe_key) WHERE dedupe_key IS NOT NULL",
        ),
    ),
    Migration(
        4,
        (
            # Claims (idempotency keys, content hashes per user): the first insert of a (scope, key) wins.
            "CREATE TABLE claims (scope TEXT NOT NULL, key TEXT NOT NULL, video_id TEXT NOT NULL,"
            " body TEXT NOT NULL, PRIMARY KEY (scope, key))",
        ),
    ),
    Migration(
        5,
        (
            # A video's revision, +1 on every save: a save is a compare-and-set on it. Rows written
            # before are at revision 0.
            "ALTER TABLE videos ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        ),
    ),
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch (naive datetimes are taken as UTC): an integer that sorts like time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class SQLiteDatabase:
    """A SQLite file in WAL mode with one connection per thread and a migrated schema.

    ``path`` may not be ``:memory:`` (each connection would see its own empty database).
    """

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration] = MAIN_MIGRATIONS,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        pragmas: Sequence[str] = (),
    ) -> None:
        if str(path) == ":memory:":
            raise ConfigurationError("SQLiteDatabase needs a file path, not ':memory:'")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._pragmas = tuple(pragmas)  # run on every new connection, after the defaults below
        self._local = threading.local()
        self._all: dict[threading.Thread, sqlite3.Connection] = {}  # every open connection, by owner
        self._all_lock = threading.Lock()
        self._closed = False
        try:
            self._migrate(tuple(migrations))
        except BaseException:
            self.close()
            raise

    # --- connections ---------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        if self._closed:
            raise BackendUnavailableError(f"the database {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False only so
            # close() may close every thread's connection; each is still used by one thread.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
            conn.execute("PRAGMA foreign_keys = ON")
            for pragma in self._pragmas:
                conn.execute(pragma)
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"cannot open the database {self.path}: {exc}") from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise ConfigurationError(f"the database {self.path} refused WAL mode (got {mode!r})")
        with self._all_lock:
            # Threads come and go (pools, per-task helpers): close what finished threads left behind.
            for thread in [t for t in self._all if not t.is_alive()]:
                with contextlib.suppress(sqlite3.Error):
                    self._all.pop(thread).close()
            self._all[threading.current_thread()] = conn
        return conn

    def close(self) -> None:
        """Close every thread's connection; later use raises BackendUnavailableError."""
        with self._all_lock:
            self._closed = True
            conns, self._all = list(self._all.values()), {}
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):  # another thread may be mid-way through
                conn.close()

    # --- transactions ----------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any exception.

        SQLite errors inside become BackendUnavailableError (callers catch IntegrityError themselves
        inside the block when a constraint means something, e.g. a duplicate id).
        """
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackendUnavailableError(f"the database {self.path} is busy: {exc}; retry later") from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise BackendUnavailableError(f"the database {self.path} failed a write: {exc}") from exc
        except BaseException:
            self._rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise BackendUnavailableError(f"could not commit to {self.path}: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reads (autocommit: each statement sees one snapshot);
        SQLite errors inside become BackendUnavailableError."""
        conn = self.connection()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"the database {self.path} failed a read: {exc}") from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.Error):  # nothing to undo if the transaction already ended
            conn.execute("ROLLBACK")

    def data_version(self) -> int:
        """A number that changes whenever a video, mob or execution changes, whichever process wrote."""
        with self.read() as conn:
            row = conn.execute("SELECT n FROM data_version WHERE id = 1").fetchone()
        return int(row[0]) if row is not None else 0

    # --- schema --------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        latest = migrations[-1].version if migrations else 0
        versions = [m.version for m in migrations]
        if versions != list(range(1, latest + 1)):
            raise ConfigurationError(f"migrations must be numbered 1..n in order, got {versions}")
        if self.schema_version() == latest:  # the usual open: nothing to migrate, no write lock to wait for
            return
        with self.write() as conn:  # IMMEDIATE: two processes opening a fresh dir migrate once
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > latest:
                raise ConfigurationError(
                    f"the database {self.path} has schema version {current}, newer than this milkmobs "
                    f"understands ({latest}); upgrade milkmobs or use another data directory"
                )
            for migration in migrations[current:]:
                try:
                    for statement in migration.statements:
                        conn.execute(statement)
                except sqlite3.Error as exc:
                    raise ConfigurationError(
                        f"schema migration {migration.version} of {self.path} failed ({exc}); nothing was changed"
                    ) from exc
                conn.execute(f"PRAGMA user_version = {migration.version}")
