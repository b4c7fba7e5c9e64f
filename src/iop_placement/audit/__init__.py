"""The audit trail: issued cards, clinicians' feedback and placement records, tamper-evident.

::

    from iop_placement.audit import AuditStore, verify
    store = AuditStore.open("sqlite:///audit.db")        # or "postgresql://..." (psycopg 3)
    store.append_record(record)                          # a PlacementRecord
    report = verify("sqlite:///audit.db")                # report.ok, report.problems

Entries are append-only (the database refuses UPDATE and DELETE) and chained: each
carries the SHA-256 of its canonical content and of the previous entry's hash, so
:func:`verify` finds an entry that was edited or deleted; it opens the database
read-only and checks the triggers without re-creating them. A rewritten, cut or extended
chain is still whole: keep the head ``verify`` prints (``SEQ:HASH``) and pass it next
time (``expected_head``). The free-text note is stored and hashed, never logged,
rendered or returned unless asked for.
"""

from __future__ import annotations

from iop_placement.audit._store import (
    GENESIS,
    AuditEntry,
    AuditError,
    AuditStore,
    AuditUnavailable,
    AuditUnguarded,
    Verification,
    entry_hash,
    parse_head,
    verify,
)

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditError",
    "AuditStore",
    "AuditUnavailable",
    "AuditUnguarded",
    "Verification",
    "entry_hash",
    "parse_head",
    "verify",
]
