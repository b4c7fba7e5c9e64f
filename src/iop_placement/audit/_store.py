"""An append-only, hash-chained audit table in SQLite (default) or PostgreSQL (psycopg 3).

One table, ``iop_placement_audit``: ``seq`` (1, 2, ...), ``kind`` (``card``, ``feedback``,
``placement``), ``recorded_at`` (UTC, ISO 8601), ``card_uuid`` (for feedback lookups),
``content`` (canonical JSON), ``note`` (free text or NULL), ``prev_hash`` and ``hash``.
``hash`` is the SHA-256 of the canonical JSON of every other column and ``prev_hash``
(:func:`entry_hash`); the first entry's ``prev_hash`` is :data:`GENESIS`. Triggers make
the database refuse UPDATE and DELETE; someone who drops them and edits or deletes a row
breaks the chain, which :func:`verify` reports. Removing the newest entries leaves a
shorter valid chain: compare :attr:`Verification.head` with a copy kept elsewhere
(``expected_head``) to detect that.

Appends from several threads or processes keep one chain: each reads the newest hash and
inserts under the database's write lock (SQLite ``BEGIN IMMEDIATE`` with a 30 s busy
timeout; PostgreSQL ``LOCK TABLE``). PostgreSQL is reached through a small
``psycopg_pool`` pool that checks connections and reconnects after a server restart.

SQLite commits appends in groups: the appends that arrive while a commit (and its fsync)
is in flight wait, and the first of them then writes them all, chained in arrival order,
in one transaction with one fsync. Every append still returns only after its own entry
is committed to disk; an entry the database refuses fails alone (a savepoint each).
PostgreSQL commits each append in its own transaction; its server groups concurrent
commits' WAL flushes itself (``commit_delay``, ``commit_siblings``).
A second table, ``iop_placement_token_ids``, holds the ids of the bearer tokens already
accepted (:meth:`AuditStore.claim_token_id`), so that replay protection holds across the
server's worker processes; it is not part of the chain, and its rows are deleted once
their tokens have expired.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from iop_placement._model.errors import IopPlacementError
from iop_placement._model.placement_record import PlacementRecordV2
from iop_placement._model.record import PlacementRecord

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditError",
    "AuditStore",
    "AuditUnavailable",
    "Verification",
    "entry_hash",
    "parse_head",
    "verify",
]

GENESIS: Final = "0" * 64
TABLE: Final = "iop_placement_audit"
TOKENS: Final = "iop_placement_token_ids"
Kind = Literal["card", "feedback", "placement"]
_KINDS: Final = ("card", "feedback", "placement")
POOL_MAX_CONNECTIONS: Final = 4
"""PostgreSQL connections one store (one server process) keeps at most."""
POOL_WAIT_SECONDS: Final = 1.0
"""How long an operation waits for a PostgreSQL connection before it fails (server down)."""

_SQLITE_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    card_uuid TEXT,
    content TEXT NOT NULL,
    note TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_card ON {TABLE} (card_uuid);
CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS {TOKENS} (
    issuer TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX IF NOT EXISTS {TOKENS}_expires ON {TOKENS} (expires);
"""
_POSTGRES_SCHEMA: Final = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    card_uuid TEXT,
    content TEXT NOT NULL,
    note TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)""",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_card ON {TABLE} (card_uuid)",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END; $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE}
FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()""",
    # ALWAYS: an ordinary trigger does not fire under session_replication_role = replica,
    # which any superuser session can set to edit or delete rows unnoticed.
    f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_append_only",
    f"""CREATE TABLE IF NOT EXISTS {TOKENS} (
    issuer TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (issuer, jti)
)""",
    f"CREATE INDEX IF NOT EXISTS {TOKENS}_expires ON {TOKENS} (expires)",
)
_SELECT: Final = (
    "SELECT seq, kind, recorded_at, card_uuid, content, note, prev_hash, hash"
    " FROM iop_placement_audit"
)
_SELECT_ALL: Final = _SELECT + " ORDER BY seq"
_SELECT_CARD: Final = _SELECT + " WHERE kind = 'card' AND card_uuid = ?"
_SELECT_LAST: Final = "SELECT seq, hash FROM iop_placement_audit ORDER BY seq DESC LIMIT 1"
_INSERT: Final = (
    "INSERT INTO iop_placement_audit"
    " (seq, kind, recorded_at, card_uuid, content, note, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LOCK: Final = "LOCK TABLE iop_placement_audit IN SHARE ROW EXCLUSIVE MODE"
_FORGET_IDS: Final = "DELETE FROM iop_placement_token_ids WHERE expires < ?"
_INSERT_ID: Final = (
    "INSERT INTO iop_placement_token_ids (issuer, jti, expires) VALUES (?, ?, ?)"
    " ON CONFLICT (issuer, jti) DO NOTHING"
)


class AuditError(IopPlacementError, RuntimeError):
    """The audit store cannot be opened or written; the message never holds a note."""


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    seq: int,
    kind: str,
    recorded_at: str,
    card_uuid: str | None,
    content: str,
    note: str | None,
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of an entry's canonical form: every column but ``hash`` itself."""
    canonical = _canonical(
        {
            "seq": seq,
            "kind": kind,
            "recorded_at": recorded_at,
            "card_uuid": card_uuid,
            "content": content,
            "note": note,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry; ``note`` is left out of ``repr``."""

    seq: int
    kind: str
    recorded_at: str
    card_uuid: str | None
    content: str
    note: str | None = field(repr=False)
    prev_hash: str
    hash: str

    @property
    def data(self) -> dict[str, Any]:
        """The content, parsed."""
        parsed: dict[str, Any] = json.loads(self.content)
        return parsed


@dataclass(frozen=True, slots=True)
class Verification:
    """What :func:`verify` found: entries read, the newest hash, and each problem."""

    entries: int
    head: str
    problems: tuple[str, ...]
    head_seq: int = 0

    @property
    def ok(self) -> bool:
        """Whether the chain is whole."""
        return not self.problems

    @property
    def head_text(self) -> str:
        """``SEQ:HASH`` of the newest entry: keep it, and give it to the next verify."""
        return f"{self.head_seq}:{self.head}"


@dataclass(eq=False)
class _Pending:
    """One SQLite append waiting for its group's commit, and what came of it."""

    kind: str
    recorded_at: str
    card_uuid: str | None
    text: str
    note: str | None
    entry: AuditEntry | None = None
    error: BaseException | None = None
    done: bool = False


class AuditStore:
    """The audit table in one database; safe to share between threads of one process."""

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        # SQLite's group commit: the appends waiting, and whether a group is being written.
        self._group = threading.Condition(threading.Lock())
        self._waiting: list[_Pending] = []
        self._writing = False
        self._postgres = url.startswith(("postgresql://", "postgres://"))
        self.url = url
        self._conn: Any = None
        self._pool: Any = None
        try:
            if self._postgres:
                self._pool = _postgres_pool(url)
            else:
                self._conn = _sqlite_connect(url)
        except AuditError:
            raise
        except Exception as error:  # noqa: BLE001 - a driver's error may quote the URL's password
            msg = f"cannot open the audit database ({type(error).__name__})"
            raise AuditError(msg) from None

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection for one operation: SQLite's one (under the lock), or one from the pool.

        The PostgreSQL pool checks a connection before lending it and replaces a broken
        one, so the store works again as soon as the server is back after a restart; while
        the server is down, a connection is waited for at most :data:`POOL_WAIT_SECONDS`.
        """
        if self._pool is not None:
            with self._pool.connection(timeout=POOL_WAIT_SECONDS) as conn:
                yield conn
            return
        with self._lock:
            yield self._conn

    @classmethod
    def open(cls, url: str) -> AuditStore:
        """The store at ``sqlite:///PATH`` (created on first use) or ``postgresql://...``.

        ``sqlite:////abs/path`` names an absolute path. The URL's password never appears
        in an error.
        """
        return cls(url)

    def close(self) -> None:
        """Close the database connection (or the pool's connections)."""
        if self._pool is not None:
            self._pool.close()
            return
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self._postgres else text

    def append(
        self,
        kind: Kind,
        content: Mapping[str, Any],
        *,
        note: str | None = None,
        card_uuid: str | None = None,
    ) -> AuditEntry:
        """Append one entry at the end of the chain and return it.

        Raises:
            AuditError: the kind is unknown or the database refused the write.

        """
        if kind not in _KINDS:
            msg = f"an audit entry's kind is one of {', '.join(_KINDS)}"
            raise AuditError(msg)
        text = _canonical(dict(content))
        recorded_at = datetime.now(UTC).isoformat()
        if not self._postgres:
            return self._append_in_group(_Pending(kind, recorded_at, card_uuid, text, note))
        try:
            with self._connection() as conn:
                return self._append(
                    conn, kind, recorded_at=recorded_at, card_uuid=card_uuid, text=text, note=note
                )
        except Exception as error:  # noqa: BLE001 - never the driver's text: it may quote values
            msg = f"the audit entry could not be written ({type(error).__name__})"
            raise AuditError(msg) from None

    def _append(
        self,
        conn: Any,  # noqa: ANN401 - a sqlite3 or psycopg connection
        kind: str,
        *,
        recorded_at: str,
        card_uuid: str | None,
        text: str,
        note: str | None,
    ) -> AuditEntry:
        """Append on PostgreSQL: one transaction under the table lock."""
        with conn.transaction():
            conn.execute(_LOCK)
            last = conn.execute(_SELECT_LAST).fetchone()
            entry = _next_entry(last, kind, recorded_at, card_uuid, text=text, note=note)
            conn.execute(self._sql(_INSERT), _row(entry))
        return entry

    def _append_in_group(self, pending: _Pending) -> AuditEntry:
        """Append on SQLite: wait while a group is being written, then write one's own group.

        The caller that finds no group being written writes every append waiting by then
        (its own first among them); the others wait for it, and one of those left over
        writes the next group.
        """
        with self._group:
            self._waiting.append(pending)
            while self._writing and not pending.done:
                self._group.wait()
            if not pending.done:
                self._writing = True
                group, self._waiting = self._waiting, []
        if not pending.done:
            try:
                with self._lock:
                    self._write_group(self._conn, group)
            except Exception as error:  # noqa: BLE001 - the group failed: nothing committed
                for item in group:
                    item.entry, item.error = None, error
            finally:  # also when interrupted: every waiting append hears back
                with self._group:
                    for item in group:
                        item.done = True
                    self._writing = False
                    self._group.notify_all()
        if pending.entry is None:
            msg = f"the audit entry could not be written ({type(pending.error).__name__})"
            raise AuditError(msg)
        return pending.entry

    @staticmethod
    def _write_group(conn: sqlite3.Connection, group: list[_Pending]) -> None:
        """Chain and insert ``group`` in one transaction (one fsync).

        An entry the database refuses is rolled back to its savepoint and fails alone.
        """
        written: list[tuple[_Pending, AuditEntry]] = []
        alone = len(group) == 1  # its failure is the group's: no savepoint needed
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute(_SELECT_LAST).fetchone()
            for item in group:
                if not alone:
                    conn.execute("SAVEPOINT entry")
                try:
                    entry = _next_entry(
                        last,
                        item.kind,
                        item.recorded_at,
                        item.card_uuid,
                        text=item.text,
                        note=item.note,
                    )
                    conn.execute(_INSERT, _row(entry))
                except Exception as error:
                    if alone:
                        raise
                    conn.execute("ROLLBACK TO entry")  # this entry fails, not the group
                    item.error = error
                else:
                    written.append((item, entry))
                    last = (entry.seq, entry.hash)
                if not alone:
                    conn.execute("RELEASE entry")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        for item, entry in written:  # durable now
            item.entry = entry

    def claim_token_id(self, issuer: str, jti: str, *, expires: float, now: float) -> bool:
        """Record a bearer token's id until ``expires``; False if it is already recorded.

        Atomic across threads and processes on this database: of several claims of one id
        before it expires, exactly one is True. Ids that expired before ``now`` are deleted
        first. The commit is not forced to disk (SQLite ``synchronous=NORMAL``, PostgreSQL
        ``synchronous_commit=off``): a crash of the machine may forget the last ids, never
        corrupt the table or the chain.

        Raises:
            AuditError: the database refused the write.

        """
        try:
            with self._connection() as conn:
                return self._claim(conn, issuer, jti, expires, now)
        except Exception as error:  # noqa: BLE001 - never the driver's text
            msg = f"the token id could not be recorded ({type(error).__name__})"
            raise AuditError(msg) from None

    def _claim(
        self,
        conn: Any,  # noqa: ANN401 - a sqlite3 or psycopg connection
        issuer: str,
        jti: str,
        expires: float,
        now: float,
    ) -> bool:
        if self._postgres:
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = off")
                conn.execute(self._sql(_FORGET_IDS), (now,))
                claimed = conn.execute(self._sql(_INSERT_ID), (issuer, jti, expires))
            return bool(claimed.rowcount == 1)
        # Per connection and only between transactions: the audit entries stay FULL.
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_FORGET_IDS, (now,))
                claimed = conn.execute(_INSERT_ID, (issuer, jti, expires))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.execute("PRAGMA synchronous=FULL")
        return bool(claimed.rowcount == 1)

    def append_record(self, record: PlacementRecord) -> AuditEntry:
        """Append a placement record (its note in the note column, as the record keeps it)."""
        return self.append("placement", record.audit_data(), note=record.note)

    def append_placement(self, record: PlacementRecordV2) -> AuditEntry:
        """Append a v2 placement record (kind ``placement``, ``schema_version`` 2).

        Its note goes in the note column: hashed with the entry, never exported.
        """
        return self.append("placement", record.audit_data(), note=record.note)

    def placement_records(self) -> Iterator[PlacementRecordV2]:
        """Every placement record, oldest first, as v2 (v1 override records converted).

        Without their notes: the exports and the variance report read these.
        """
        for entry in self.entries():
            if entry.kind != "placement":
                continue
            try:
                data = entry.data
                if data.get("schema_version") == 2:
                    yield PlacementRecordV2.model_validate(data)
                    continue
                # A v1 record is valid only with its note ('other' needs one): read it with
                # the note, hand it on without.
                v1 = PlacementRecord.model_validate({**data, "note": entry.note})
                yield PlacementRecordV2.from_v1(v1).model_copy(update={"note": None})
            except (ValueError, AttributeError):  # pydantic's ValidationError is a ValueError
                msg = f"audit entry {entry.seq} is not a readable placement record"
                raise AuditError(msg) from None

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first."""
        try:
            with self._connection() as conn:
                rows = conn.execute(_SELECT_ALL).fetchall()
        except Exception as error:  # noqa: BLE001 - never the driver's text
            msg = f"the audit entries could not be read ({type(error).__name__})"
            raise AuditError(msg) from None
        for row in rows:
            yield AuditEntry(*row)

    def card(self, card_uuid: str) -> AuditEntry | None:
        """The entry for the card issued with ``card_uuid``, if this service issued it."""
        try:
            with self._connection() as conn:
                row = conn.execute(self._sql(_SELECT_CARD), (card_uuid,)).fetchone()
        except Exception as error:  # noqa: BLE001 - never the driver's text
            msg = f"the audit entries could not be read ({type(error).__name__})"
            raise AuditError(msg) from None
        return AuditEntry(*row) if row else None


def _next_entry(
    last: tuple[int, str] | None,
    kind: str,
    recorded_at: str,
    card_uuid: str | None,
    *,
    text: str,
    note: str | None,
) -> AuditEntry:
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    digest = entry_hash(
        seq=seq,
        kind=kind,
        recorded_at=recorded_at,
        card_uuid=card_uuid,
        content=text,
        note=note,
        prev_hash=prev,
    )
    return AuditEntry(seq, kind, recorded_at, card_uuid, text, note, prev, digest)


def _row(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.kind,
        entry.recorded_at,
        entry.card_uuid,
        entry.content,
        entry.note,
        entry.prev_hash,
        entry.hash,
    )


def _sqlite_path(url: str) -> Path:
    # A URL only: a bare string such as a libpq "key=value" line must not become a file name.
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    msg = "the audit database URL must be sqlite:///PATH or postgresql://..."
    raise AuditError(msg)


def _sqlite_connect(url: str) -> sqlite3.Connection:
    path = _sqlite_path(url)
    if not path.parent.is_dir():
        msg = "the audit database's folder does not exist"
        raise AuditError(msg)
    # Created owner-only: the notes are clinicians' free text. SQLite gives its -wal and
    # -shm files the database file's mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        if exists:
            _refuse_if_unguarded(_trigger_problems(conn, postgres=False))
        conn.executescript(_SQLITE_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _postgres_pool(url: str) -> Any:  # noqa: ANN401 - a psycopg_pool.ConnectionPool
    """A pool of autocommit connections, the schema made; it reconnects after a restart.

    psycopg_pool (the psycopg project's own pool) rather than a connection kept by hand:
    it checks a connection before lending it (:meth:`ConnectionPool.check_connection`),
    drops broken ones and reconnects in the background with back-off.
    """
    try:
        import psycopg  # noqa: PLC0415 - optional: the postgres extra
        from psycopg_pool import ConnectionPool  # noqa: PLC0415
    except ImportError:
        msg = "a PostgreSQL audit database needs psycopg: pip install 'iop-placement[postgres]'"
        raise AuditError(msg) from None
    # Made first on a connection of its own: an unreachable server or a bad URL fails here,
    # at once, as before (the pool would retry in the background).
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(4207331)")  # one schema creator at a time
        exists = conn.execute(f"SELECT to_regclass('public.{TABLE}')").fetchone()
        if exists is not None and exists[0] is not None:
            _refuse_if_unguarded(_trigger_problems(conn, postgres=True))
        for statement in _POSTGRES_SCHEMA:
            conn.execute(statement)
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_MAX_CONNECTIONS,
        kwargs={"autocommit": True, "connect_timeout": 5},
        check=ConnectionPool.check_connection,
        timeout=POOL_WAIT_SECONDS,
        reconnect_timeout=float("inf"),  # keep trying: the server may be down a while
        name="iop-placement-audit",
        open=False,
    )
    pool.open(wait=True, timeout=10)
    return pool


_SQLITE_TRIGGERS: Final = {
    f"{TABLE}_no_update": f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    f"{TABLE}_no_delete": f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
}
_POSTGRES_TRIGGER: Final = (
    f"CREATE TRIGGER {TABLE}_append_only BEFORE DELETE OR UPDATE OR TRUNCATE"
    f" ON public.{TABLE} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()"
)
_POSTGRES_REFUSE: Final = "BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END"
_POSTGRES_TRIGGERS_SQL: Final = (
    "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid), p.prosrc"
    " FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
    " WHERE t.tgrelid = 'public.iop_placement_audit'::regclass AND NOT t.tgisinternal"
)
_COLUMNS: Final = (
    "seq",
    "kind",
    "recorded_at",
    "card_uuid",
    "content",
    "note",
    "prev_hash",
    "hash",
)
_NULLABLE: Final = frozenset({"card_uuid", "note"})
_SQLITE_VERIFY_SELECT: Final = (
    "SELECT seq, kind, recorded_at, card_uuid, content, note, prev_hash, hash,"
    " typeof(seq), typeof(kind), typeof(recorded_at), typeof(card_uuid), typeof(content),"
    " typeof(note), typeof(prev_hash), typeof(hash)"
    " FROM iop_placement_audit ORDER BY seq"
)
_HEAD: Final = re.compile(r"(?:(?P<seq>[1-9][0-9]{0,18}):)?(?P<hash>[0-9a-f]{64})")


class AuditUnavailable(AuditError):  # noqa: N818 - reads as the others
    """The audit database cannot be checked: missing, unreadable, or holding no audit trail."""


class AuditUnguarded(AuditError):  # noqa: N818 - reads as the others
    """An existing audit trail whose append-only triggers are missing, changed or disabled.

    :meth:`AuditStore.open` refuses it rather than re-create the triggers: their absence is
    evidence that entries may have been changed, and putting them back would erase it.
    """


def _refuse_if_unguarded(problems: list[str]) -> None:
    if problems:
        msg = (
            "the audit trail is not opened: "
            + "; ".join(problems)
            + " (entries may have been changed; check the chain with `iop-placement audit"
            " verify` and a head kept elsewhere, then restore the trigger as docs/cds-hooks.md"
            " shows)"
        )
        raise AuditUnguarded(msg)


def _words(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").strip()


def _sqlite_read_only(url: str) -> sqlite3.Connection:
    path = _sqlite_path(url)
    if not path.is_file():
        # sqlite3.connect would create it, and verify would call an empty database intact.
        msg = "the audit database does not exist"
        raise AuditUnavailable(msg)
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    conn.text_factory = bytes  # decoded per column below: binary data is a finding, not a crash
    return conn


def _postgres_read_only(url: str) -> Any:  # noqa: ANN401 - a psycopg connection
    try:
        import psycopg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError:
        msg = "a PostgreSQL audit database needs psycopg: pip install 'iop-placement[postgres]'"
        raise AuditUnavailable(msg) from None
    # Every transaction read-only: verify can never write, whatever it runs.
    return psycopg.connect(
        url, autocommit=True, connect_timeout=10, options="-c default_transaction_read_only=on"
    )


def _trigger_problems(conn: Any, *, postgres: bool) -> list[str]:  # noqa: ANN401 - a connection
    """The append-only triggers as they are (never re-created: a missing one is evidence)."""
    problems = []
    if postgres:
        rows = conn.execute(_POSTGRES_TRIGGERS_SQL).fetchall()
        found = {row[0]: row for row in rows}
        name = f"{TABLE}_append_only"
        row = found.get(name)
        if row is None:
            return [f"the append-only trigger {name} is missing"]
        if _words(row[2]) != _POSTGRES_TRIGGER or _words(row[3]) != _POSTGRES_REFUSE:
            problems.append(f"the append-only trigger {name} was changed")
        if row[1] != "A":
            # Not ENABLE ALWAYS: disabled, or skipped under session_replication_role=replica.
            problems.append(f"the append-only trigger {name} is not always enabled")
        return problems
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (TABLE,)
    ).fetchall()
    found = {_text(name): _text(sql) for name, sql in rows}
    for name, expected in _SQLITE_TRIGGERS.items():
        if name not in found:
            problems.append(f"the append-only trigger {name} is missing")
        elif _words(found[name] or "") != expected:
            problems.append(f"the append-only trigger {name} was changed")
    return problems


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) or value is None else str(value)


def _entry_of(row: tuple[Any, ...], postgres: bool) -> tuple[AuditEntry | None, str | None]:
    """The row as an entry, or None and the problem (a column of the wrong type)."""
    values = list(row[: len(_COLUMNS)])
    types = row[len(_COLUMNS) :] if not postgres else ()
    seq = values[0]
    if not isinstance(seq, int):
        return None, "an entry has a sequence number that is not a whole number"
    for index, column in enumerate(_COLUMNS[1:], 1):
        value = values[index]
        kind = _text(types[index]) if types else None
        if value is None and column in _NULLABLE:
            continue
        if isinstance(value, bytes) and kind == "text":
            try:
                values[index] = value.decode("utf-8")
                continue
            except UnicodeDecodeError:
                return None, f"entry {seq} has {column} that is not UTF-8 text (binary data)"
        if not isinstance(value, str) or (kind is not None and kind != "text"):
            return None, f"entry {seq} has {column} that is not text (binary data or a number)"
    return AuditEntry(*values), None


def parse_head(text: str) -> tuple[int | None, str]:
    """``HASH`` (the newest entry's) or ``SEQ:HASH`` (entry SEQ's), as verify prints it.

    Raises:
        ValueError: neither form.

    """
    match = _HEAD.fullmatch(text.strip().lower())
    if match is None:
        msg = "a head is HASH or SEQ:HASH (64 hex digits), as audit verify prints it"
        raise ValueError(msg)
    seq = match.group("seq")
    return (int(seq) if seq else None), match.group("hash")


def _read_rows(conn: Any, postgres: bool) -> list[tuple[Any, ...]]:  # noqa: ANN401
    rows: list[tuple[Any, ...]] = conn.execute(
        _SELECT_ALL if postgres else _SQLITE_VERIFY_SELECT
    ).fetchall()
    return rows


def verify(url: str, *, expected_head: str | None = None) -> Verification:
    """Check the whole chain in the audit database at ``url``, read-only.

    Finds an entry whose content no longer matches its hash (edited), a gap in ``seq``
    or a broken link to the previous hash (deleted or inserted), a column of the wrong
    type, and a missing, changed or (PostgreSQL) not always enabled append-only trigger.
    The database is opened read-only (SQLite ``mode=ro``, PostgreSQL
    ``default_transaction_read_only``) and nothing is created or repaired.

    A chain whose every hash was recomputed, or cut short, or extended by a forger, is
    still a whole chain: only a head kept elsewhere tells. ``expected_head`` is ``HASH``
    (it must be the newest entry's) or ``SEQ:HASH`` (entry SEQ must have it; the chain
    may have grown since), as :attr:`Verification.head_text` gives it.

    Raises:
        AuditUnavailable: the database does not exist, cannot be opened or read, or
            holds no audit trail.
        ValueError: ``expected_head`` is neither form.

    """
    anchor = parse_head(expected_head) if expected_head is not None else None
    postgres = url.startswith(("postgresql://", "postgres://"))
    try:
        conn = _postgres_read_only(url) if postgres else _sqlite_read_only(url)
    except AuditError:
        raise
    except Exception as error:  # noqa: BLE001 - a driver's error may quote the URL's password
        msg = f"cannot open the audit database ({type(error).__name__})"
        raise AuditUnavailable(msg) from None
    try:
        try:
            rows = _read_rows(conn, postgres)
        except Exception as error:  # noqa: BLE001 - never the driver's text
            msg = (
                f"the audit table cannot be read ({type(error).__name__}); is it an audit database?"
            )
            raise AuditUnavailable(msg) from None
        problems = _trigger_problems(conn, postgres=postgres)
    finally:
        conn.close()
    prev, expected_seq, count, hashes = GENESIS, 1, 0, {}
    for row in rows:
        count += 1
        entry, problem = _entry_of(tuple(row), postgres)
        if entry is None:
            assert problem is not None
            problems.append(problem)
            prev, expected_seq = "", expected_seq + 1
            continue
        if entry.seq != expected_seq:
            problems.append(f"entries {expected_seq} to {entry.seq - 1} are missing (deleted)")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq} does not follow the entry before it")
        recomputed = entry_hash(
            seq=entry.seq,
            kind=entry.kind,
            recorded_at=entry.recorded_at,
            card_uuid=entry.card_uuid,
            content=entry.content,
            note=entry.note,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            problems.append(f"entry {entry.seq} was changed after it was written")
        hashes[entry.seq] = entry.hash
        prev, expected_seq = entry.hash, entry.seq + 1
    if anchor is not None:
        seq, digest = anchor
        if seq is None and digest != prev:
            problems.append("the newest entry is not the expected head (entries removed or added)")
        elif seq is not None and hashes.get(seq) != digest:
            problems.append(
                f"entry {seq} is not the expected head (removed, or the chain was rewritten)"
            )
    return Verification(count, prev, tuple(problems), expected_seq - 1)
