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
timeout; PostgreSQL ``LOCK TABLE``). A second table, ``iop_placement_token_ids``, holds
the ids of the bearer tokens already accepted (:meth:`AuditStore.claim_token_id`), so
that replay protection holds across the server's worker processes; it is not part of the
chain, and its rows are deleted once their tokens have expired.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from iop_placement._model.errors import IopPlacementError
from iop_placement._model.record import PlacementRecord

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditError",
    "AuditStore",
    "Verification",
    "entry_hash",
    "verify",
]

GENESIS: Final = "0" * 64
TABLE: Final = "iop_placement_audit"
TOKENS: Final = "iop_placement_token_ids"
Kind = Literal["card", "feedback", "placement"]
_KINDS: Final = ("card", "feedback", "placement")

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

    @property
    def ok(self) -> bool:
        """Whether the chain is whole."""
        return not self.problems


class AuditStore:
    """The audit table in one database; safe to share between threads of one process."""

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self._postgres = url.startswith(("postgresql://", "postgres://"))
        self.url = url
        try:
            if self._postgres:
                self._conn: Any = _postgres_connect(url)
            else:
                self._conn = _sqlite_connect(url)
        except AuditError:
            raise
        except Exception as error:  # noqa: BLE001 - a driver's error may quote the URL's password
            msg = f"cannot open the audit database ({type(error).__name__})"
            raise AuditError(msg) from None

    @classmethod
    def open(cls, url: str) -> AuditStore:
        """The store at ``sqlite:///PATH`` (created on first use) or ``postgresql://...``.

        ``sqlite:////abs/path`` names an absolute path. The URL's password never appears
        in an error.
        """
        return cls(url)

    def close(self) -> None:
        """Close the database connection."""
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
        with self._lock:
            try:
                return self._append(kind, recorded_at, card_uuid, text, note)
            except Exception as error:  # noqa: BLE001 - never the driver's text: it may quote values
                msg = f"the audit entry could not be written ({type(error).__name__})"
                raise AuditError(msg) from None

    def _append(
        self, kind: str, recorded_at: str, card_uuid: str | None, text: str, note: str | None
    ) -> AuditEntry:
        conn = self._conn
        if self._postgres:
            with conn.transaction():
                conn.execute(_LOCK)
                last = conn.execute(_SELECT_LAST).fetchone()
                entry = _next_entry(last, kind, recorded_at, card_uuid, text=text, note=note)
                conn.execute(
                    self._sql(_INSERT),
                    _row(entry),
                )
            return entry
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute(_SELECT_LAST).fetchone()
            entry = _next_entry(last, kind, recorded_at, card_uuid, text=text, note=note)
            conn.execute(_INSERT, _row(entry))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return entry

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
        with self._lock:
            try:
                return self._claim(issuer, jti, expires, now)
            except Exception as error:  # noqa: BLE001 - never the driver's text
                msg = f"the token id could not be recorded ({type(error).__name__})"
                raise AuditError(msg) from None

    def _claim(self, issuer: str, jti: str, expires: float, now: float) -> bool:
        conn = self._conn
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

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first."""
        with self._lock:
            rows = self._conn.execute(_SELECT_ALL).fetchall()
        for row in rows:
            yield AuditEntry(*row)

    def card(self, card_uuid: str) -> AuditEntry | None:
        """The entry for the card issued with ``card_uuid``, if this service issued it."""
        with self._lock:
            row = self._conn.execute(
                self._sql(_SELECT_CARD),
                (card_uuid,),
            ).fetchone()
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
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SQLITE_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _postgres_connect(url: str) -> Any:  # noqa: ANN401 - a psycopg connection
    try:
        import psycopg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError:
        msg = "a PostgreSQL audit database needs psycopg: pip install 'iop-placement[postgres]'"
        raise AuditError(msg) from None
    conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(4207331)")  # one schema creator at a time
            for statement in _POSTGRES_SCHEMA:
                conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


def verify(url: str, *, expected_head: str | None = None) -> Verification:
    """Check the whole chain in the audit database at ``url``.

    Finds an entry whose content no longer matches its hash (edited), a gap in ``seq``
    or a broken link to the previous hash (deleted or inserted), and, with
    ``expected_head``, entries removed from the end.

    Raises:
        AuditError: the database cannot be opened.

    """
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    with AuditStore.open(url) as store:
        for entry in store.entries():
            count += 1
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
            prev, expected_seq = entry.hash, entry.seq + 1
    if expected_head is not None and expected_head != prev:
        problems.append("the newest entry is not the expected head (entries removed or added)")
    return Verification(count, prev, tuple(problems))
