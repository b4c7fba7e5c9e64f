"""The audit trail: append-only, hash-chained, in SQLite and PostgreSQL; verify finds tampering.

PostgreSQL tests use the server at ``IOP_PLACEMENT_TEST_POSTGRES_URL`` (CI starts one,
``.ci/run``), each in a database of its own; without the variable they skip, and with it
an unreachable server fails them.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sqlite3
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from iop_placement import LevelOfCare, OverrideReason, PlacementRecord, RulesetInfo
from iop_placement.audit import (
    GENESIS,
    AuditError,
    AuditStore,
    AuditUnavailable,
    AuditUnguarded,
    entry_hash,
    verify,
)
from iop_placement.cli import main

POSTGRES_ENV = "IOP_PLACEMENT_TEST_POSTGRES_URL"
SECRET_NOTE = "SECRETPHI Jane Roe, lives at 1 Elm St"


def _record(note: str | None = SECRET_NOTE) -> PlacementRecord:
    return PlacementRecord(
        recommended_level=LevelOfCare.INTENSIVE_OUTPATIENT,
        chosen_level=LevelOfCare.STANDARD_OUTPATIENT,
        reason_code=OverrideReason.PATIENT_PREFERENCE,
        at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        ruleset=RulesetInfo(name="bundled", version="2.0.0", sha256="ab" * 32),
        note=note,
    )


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} to a server URL to run these")
    import psycopg

    name = f"iop_audit_{uuid.uuid4().hex[:12]}"
    # Set but unreachable is a failure, not a skip: CI must not pass silently.
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(admin)
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    value: str = request.getfixturevalue(name)
    return value


_SQLITE_TRIGGERS = {
    name: f"CREATE TRIGGER iop_placement_audit_{name} BEFORE {action} ON iop_placement_audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    for name, action in (("no_update", "UPDATE"), ("no_delete", "DELETE"))
}
_PG_TRIGGER = (
    "CREATE TRIGGER iop_placement_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    " ON iop_placement_audit FOR EACH STATEMENT EXECUTE FUNCTION iop_placement_audit_refuse()"
)


@contextmanager
def _raw(url: str, *, restore: bool = True) -> Iterator[Any]:
    """A raw connection with the append-only triggers dropped: the tamperer's view.

    A careful tamperer puts the triggers back afterwards (``restore``).
    """
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as conn:
            conn.execute("DROP TRIGGER iop_placement_audit_no_update")
            conn.execute("DROP TRIGGER iop_placement_audit_no_delete")
            yield conn
        if restore:
            _restore_triggers(url)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("DROP TRIGGER iop_placement_audit_append_only ON iop_placement_audit")
        yield pg
    if restore:
        _restore_triggers(url)


def _restore_triggers(url: str) -> None:
    """Put the append-only triggers back, as an operator would after a review."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as conn:
            for statement in _SQLITE_TRIGGERS.values():
                conn.execute(statement)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(_PG_TRIGGER)
        pg.execute(
            "ALTER TABLE iop_placement_audit ENABLE ALWAYS TRIGGER iop_placement_audit_append_only"
        )


def _q(url: str, sql: str) -> str:
    return sql if url.startswith("sqlite") else sql.replace("?", "%s")


def _three(url: str) -> list[str]:
    with AuditStore.open(url) as store:
        hashes = [store.append("card", {"n": n}, card_uuid=f"card-{n}").hash for n in (1, 2)]
        hashes.append(store.append_record(_record()).hash)
    return hashes


def test_sqlite_is_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert not path.exists()
    with AuditStore.open(f"sqlite:///{path}") as store:
        store.append("card", {"n": 1})
    assert path.exists()
    with AuditStore.open(f"sqlite:///{path}") as store:
        assert [entry.data for entry in store.entries()] == [{"n": 1}]


def test_entries_are_chained(url: str) -> None:
    hashes = _three(url)
    with AuditStore.open(url) as store:
        entries = list(store.entries())
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert [entry.prev_hash for entry in entries[1:]] == hashes[:2]
    for entry in entries:
        assert entry.hash == entry_hash(
            seq=entry.seq,
            kind=entry.kind,
            recorded_at=entry.recorded_at,
            card_uuid=entry.card_uuid,
            content=entry.content,
            note=entry.note,
            prev_hash=entry.prev_hash,
        )
    report = verify(url, expected_head=hashes[-1])
    assert (report.ok, report.entries, report.head) == (True, 3, hashes[-1])


def test_a_placement_record_keeps_its_note_apart(url: str) -> None:
    _three(url)
    with AuditStore.open(url) as store:
        entry = list(store.entries())[-1]
    assert entry.kind == "placement"
    assert entry.note == SECRET_NOTE
    assert SECRET_NOTE not in entry.content
    assert SECRET_NOTE not in repr(entry)
    assert PlacementRecord.model_validate({**entry.data, "note": entry.note}) == _record()


def test_the_database_refuses_update_and_delete(url: str) -> None:
    _three(url)
    with AuditStore.open(url) as store, store._connection() as conn:
        for sql in (
            "UPDATE iop_placement_audit SET content = '{}' WHERE seq = 2",
            "DELETE FROM iop_placement_audit WHERE seq = 2",
        ):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(sql)
    assert verify(url).ok


def test_verify_finds_an_edited_entry(url: str) -> None:
    _three(url)
    with _raw(url) as conn:
        conn.execute(
            _q(url, "UPDATE iop_placement_audit SET content = ? WHERE seq = 2"), ('{"n":9}',)
        )
    report = verify(url)
    assert report.problems == ("entry 2 was changed after it was written",)


def test_verify_finds_an_edited_note(url: str) -> None:
    _three(url)
    with _raw(url) as conn:
        conn.execute(_q(url, "UPDATE iop_placement_audit SET note = ? WHERE seq = 3"), ("x",))
    assert verify(url).problems == ("entry 3 was changed after it was written",)


def test_verify_finds_an_edit_with_a_recomputed_hash(url: str) -> None:
    # A forger who recomputes the edited entry's own hash breaks the next link.
    _three(url)
    with AuditStore.open(url) as store:
        second = list(store.entries())[1]
    forged = entry_hash(
        seq=2,
        kind=second.kind,
        recorded_at=second.recorded_at,
        card_uuid=second.card_uuid,
        content='{"n":9}',
        note=None,
        prev_hash=second.prev_hash,
    )
    with _raw(url) as conn:
        conn.execute(
            _q(url, "UPDATE iop_placement_audit SET content = ?, hash = ? WHERE seq = 2"),
            ('{"n":9}', forged),
        )
    assert verify(url).problems == ("entry 3 does not follow the entry before it",)


def test_verify_finds_a_deleted_entry(url: str) -> None:
    _three(url)
    with _raw(url) as conn:
        conn.execute("DELETE FROM iop_placement_audit WHERE seq = 2")
    assert verify(url).problems == (
        "entries 2 to 2 are missing (deleted)",
        "entry 3 does not follow the entry before it",
    )


def test_verify_finds_entries_removed_at_the_end_given_the_head(url: str) -> None:
    head = _three(url)[-1]
    with _raw(url) as conn:
        conn.execute("DELETE FROM iop_placement_audit WHERE seq = 3")
    assert verify(url).ok  # a shorter chain is whole: only the kept head tells
    assert not verify(url, expected_head=head).ok


def test_appends_from_many_threads_keep_one_chain(url: str) -> None:
    with AuditStore.open(url) as store:
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for n in range(25):
                    store.append("card", {"worker": worker, "n": n})
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    report = verify(url)
    assert (report.ok, report.entries) == (True, 200)


def test_two_stores_on_one_database_keep_one_chain(url: str) -> None:
    with AuditStore.open(url) as first, AuditStore.open(url) as second:
        for n in range(10):
            (first if n % 2 else second).append("card", {"n": n})
    assert verify(url).entries == 10
    assert verify(url).ok


def _append_in_a_process(url: str, worker: int, count: int) -> None:
    with AuditStore.open(url) as store:
        for n in range(count):
            store.append("card", {"worker": worker, "n": n})


def _claim_in_a_process(url: str, ids: list[str], results: Any) -> None:
    with AuditStore.open(url) as store:
        for jti in ids:
            if store.claim_token_id("https://ehr.example", jti, expires=2e9, now=1e9):
                results.put(jti)


def test_appends_from_several_processes_keep_one_chain(url: str) -> None:
    # What `serve --workers N` does: each process its own connection, one chain.
    context = multiprocessing.get_context("spawn")
    AuditStore.open(url).close()  # the schema, before the processes race to create it
    processes = [
        context.Process(target=_append_in_a_process, args=(url, worker, 40)) for worker in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    report = verify(url)
    assert report.ok, report.problems
    assert report.entries == 120


def test_a_token_id_is_claimed_once_across_processes(url: str) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ids = [f"jti-{n}" for n in range(60)]
    AuditStore.open(url).close()
    processes = [
        context.Process(target=_claim_in_a_process, args=(url, ids, results)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    claimed = [results.get(timeout=10) for _ in range(len(ids))]
    assert sorted(claimed) == sorted(ids)  # each id exactly once, whoever won it
    assert results.empty()


def test_an_expired_token_id_is_forgotten(url: str) -> None:
    with AuditStore.open(url) as store:
        assert store.claim_token_id("iss", "a", expires=100.0, now=50.0)
        assert not store.claim_token_id("iss", "a", expires=100.0, now=99.0)
        assert store.claim_token_id("other-iss", "a", expires=100.0, now=99.0)
        assert store.claim_token_id("iss", "a", expires=300.0, now=101.0)  # the old one expired
        assert not store.claim_token_id("iss", "a", expires=300.0, now=102.0)
        store.append("card", {"n": 1})
    assert verify(url).entries == 1  # the token ids are not entries of the chain


def test_a_token_id_that_cannot_be_recorded_is_an_audit_error(sqlite_url: str) -> None:
    store = AuditStore.open(sqlite_url)
    store.close()
    with pytest.raises(AuditError, match="token id could not be recorded"):
        store.claim_token_id("iss", "a", expires=100.0, now=50.0)


def test_the_audit_verify_command(url: str) -> None:
    head = _three(url)[-1]
    out = io.StringIO()
    assert main(["audit", "verify", "--db", url], stdout=out) == 0
    assert out.getvalue() == f"3 entries, chain intact; head 3:{head}\n"
    with _raw(url) as conn:
        conn.execute(_q(url, "UPDATE iop_placement_audit SET note = ? WHERE seq = 3"), ("y",))
    out = io.StringIO()
    assert main(["audit", "verify", "--db", url, "--expect-head", head], stdout=out) == 1
    assert "problem: entry 3 was changed after it was written" in out.getvalue()
    assert "BROKEN" in out.getvalue()
    assert SECRET_NOTE not in out.getvalue()


def test_unknown_kinds_are_refused(sqlite_url: str) -> None:
    with AuditStore.open(sqlite_url) as store, pytest.raises(AuditError, match="kind"):
        store.append("other", {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "opener",
    [
        lambda tmp: f"sqlite:///{tmp}/missing/audit.db",
        lambda tmp: "mysql://u:secretpw@127.0.0.1/db",  # noqa: ARG005
        lambda tmp: "user=u password=secretpw dbname=x",  # noqa: ARG005
        lambda tmp: "postgresql://u:secretpw@127.0.0.1:1/db",  # noqa: ARG005
    ],
)
def test_a_database_that_cannot_be_opened_is_an_audit_error_without_secrets(
    tmp_path: Path, opener: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(AuditError) as caught:
        AuditStore.open(opener(tmp_path))
    assert "secretpw" not in str(caught.value)
    assert main(["audit", "verify", "--db", opener(tmp_path)]) == 2  # cannot check
    assert "secretpw" not in capsys.readouterr().err


# --- issue 24, item 5: verify is read-only, checks the triggers, and takes an anchor ------


def _rewrite(url: str, rows: list[tuple[Any, ...]]) -> str:
    """Replace the whole table by a freshly computed chain of ``rows``; the new head."""
    prev = GENESIS
    with _raw(url) as conn:
        conn.execute("DELETE FROM iop_placement_audit")
        for seq, (kind, recorded_at, card_uuid, content, note) in enumerate(rows, 1):
            digest = entry_hash(
                seq=seq,
                kind=kind,
                recorded_at=recorded_at,
                card_uuid=card_uuid,
                content=content,
                note=note,
                prev_hash=prev,
            )
            conn.execute(
                _q(url, "INSERT INTO iop_placement_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                (seq, kind, recorded_at, card_uuid, content, note, prev, digest),
            )
            prev = digest
    return prev


def _rows(url: str) -> list[tuple[Any, ...]]:
    with AuditStore.open(url) as store:
        return [(e.kind, e.recorded_at, e.card_uuid, e.content, e.note) for e in store.entries()]


def test_verify_of_a_missing_database_creates_nothing_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(AuditUnavailable, match="does not exist"):
        verify(f"sqlite:///{path}")
    assert main(["audit", "verify", "--db", f"sqlite:///{path}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_verify_of_a_database_without_the_audit_table_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (a)")
    with pytest.raises(AuditUnavailable, match="cannot be read"):
        verify(f"sqlite:///{path}")
    assert main(["audit", "verify", "--db", f"sqlite:///{path}"]) == 2


def test_verify_reports_dropped_triggers_and_does_not_recreate_them(url: str) -> None:
    _three(url)
    with _raw(url, restore=False):
        pass
    first = verify(url)
    second = verify(url)  # still missing: verify put nothing back
    assert first.problems == second.problems
    assert first.problems
    assert all("append-only trigger" in p and "missing" in p for p in first.problems)


def test_opening_a_trail_whose_triggers_were_dropped_refuses_and_keeps_the_evidence(
    url: str,
) -> None:
    # Re-creating them on open (as before) erased what verify would report.
    _three(url)
    with _raw(url, restore=False):
        pass
    with pytest.raises(AuditUnguarded, match=r"append-only trigger .* is missing") as refused:
        AuditStore.open(url)
    assert "audit verify" in str(refused.value)
    problems = verify(url).problems
    assert problems
    assert all("append-only trigger" in p and "missing" in p for p in problems)
    # Put back by the operator, the trail opens again and the chain is whole.
    _restore_triggers(url)
    with AuditStore.open(url) as store:
        store.append("card", {"n": 4}, card_uuid="card-4")
    assert verify(url).problems == ()


def test_verify_reports_a_trigger_replaced_by_one_that_refuses_nothing(sqlite_url: str) -> None:
    _three(sqlite_url)
    with _raw(sqlite_url, restore=False) as conn:
        conn.execute(
            "CREATE TRIGGER iop_placement_audit_no_update BEFORE UPDATE ON iop_placement_audit"
            " BEGIN SELECT 1; END"
        )
        conn.execute(_SQLITE_TRIGGERS["no_delete"])
    assert verify(sqlite_url).problems == (
        "the append-only trigger iop_placement_audit_no_update was changed",
    )


def test_the_verify_connections_are_read_only(url: str) -> None:
    from iop_placement.audit import _store

    _three(url)
    postgres = url.startswith("postgresql")
    conn = _store._postgres_read_only(url) if postgres else _store._sqlite_read_only(url)
    try:
        with pytest.raises(Exception, match=r"read-only|readonly"):
            conn.execute("CREATE TABLE written_by_verify (a INTEGER)")
    finally:
        conn.close()


def test_the_anchored_head_finds_a_truncated_chain(url: str) -> None:
    hashes = _three(url)
    with _raw(url) as conn:
        conn.execute("DELETE FROM iop_placement_audit WHERE seq = 3")
    assert verify(url).ok
    assert verify(url, expected_head=f"3:{hashes[2]}").problems == (
        "entry 3 is not the expected head (removed, or the chain was rewritten)",
    )


def test_the_anchored_head_finds_an_edit_with_the_whole_chain_recomputed(url: str) -> None:
    hashes = _three(url)
    rows = _rows(url)
    rows[1] = (*rows[1][:3], '{"n":9}', rows[1][4])
    _rewrite(url, rows)
    assert verify(url).ok  # a recomputed chain is whole: only the kept head tells
    assert not verify(url, expected_head=f"3:{hashes[2]}").ok
    assert not verify(url, expected_head=hashes[2]).ok


def test_the_anchored_head_finds_a_delete_renumber_recompute(url: str) -> None:
    hashes = _three(url)
    rows = _rows(url)
    del rows[1]
    _rewrite(url, rows)
    assert verify(url).ok
    assert not verify(url, expected_head=f"3:{hashes[2]}").ok
    assert not verify(url, expected_head=f"2:{hashes[1]}").ok


def test_the_exact_head_finds_a_forged_append(url: str) -> None:
    hashes = _three(url)
    rows = _rows(url)
    rows.append(("card", rows[0][1], "card-forged", '{"n":4}', None))
    _rewrite(url, rows)
    assert verify(url).ok
    assert not verify(url, expected_head=hashes[2]).ok
    # An entry anchor allows the chain to grow since: a later append is not its business.
    assert verify(url, expected_head=f"3:{hashes[2]}").ok


def test_verify_prints_the_head_to_keep_and_takes_it_back(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hashes = _three(sqlite_url)
    assert main(["audit", "verify", "--db", sqlite_url]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith(f"head 3:{hashes[2]}\n")
    assert "without --expect-head" in captured.err
    assert main(["audit", "verify", "--db", sqlite_url, "--expect-head", f"3:{hashes[2]}"]) == 0
    assert main(["audit", "verify", "--db", sqlite_url, "--expect-head", "3:nothex"]) == 2


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("content", b"\x00\xff binary"),
        ("note", b"\xfe\xff"),
        ("hash", b"a" * 64),
    ],
)
def test_binary_data_in_a_column_is_a_finding_not_a_traceback(
    sqlite_url: str, column: str, value: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    _three(sqlite_url)
    with _raw(sqlite_url) as conn:
        conn.execute(f"UPDATE iop_placement_audit SET {column} = ? WHERE seq = 2", (value,))
    report = verify(sqlite_url)
    assert report.problems[0] == (
        f"entry 2 has {column} that is not text (binary data or a number)"
    )
    assert main(["audit", "verify", "--db", sqlite_url]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_text_that_is_not_utf8_is_a_finding_not_a_traceback(sqlite_url: str) -> None:
    _three(sqlite_url)
    with _raw(sqlite_url) as conn:
        conn.execute("UPDATE iop_placement_audit SET note = CAST(X'FF00' AS TEXT) WHERE seq = 3")
    assert verify(sqlite_url).problems[0] == "entry 3 has note that is not UTF-8 text (binary data)"


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    old = os.umask(0o022)
    try:
        with AuditStore.open(f"sqlite:///{path}") as store:
            store.append("card", {"n": 1})
            files = sorted(tmp_path.iterdir())
            assert [f.name for f in files] == ["new.db", "new.db-shm", "new.db-wal"]
            assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    finally:
        os.umask(old)


def test_postgres_replication_role_replica_does_not_pass_the_trigger(postgres_url: str) -> None:
    import psycopg

    _three(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute("SET session_replication_role = replica")
        for sql in (
            "DELETE FROM iop_placement_audit WHERE seq = 3",
            "UPDATE iop_placement_audit SET note = 'x' WHERE seq = 3",
            "TRUNCATE iop_placement_audit",
        ):
            with pytest.raises(psycopg.Error, match="append-only"):
                pg.execute(sql)
    assert verify(postgres_url).ok
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        # Back to an ordinary trigger, which replica sessions skip: verify says so.
        pg.execute("ALTER TABLE iop_placement_audit ENABLE TRIGGER iop_placement_audit_append_only")
    assert verify(postgres_url).problems == (
        "the append-only trigger iop_placement_audit_append_only is not always enabled",
    )


def _wait_for(condition: Callable[[], bool]) -> None:
    """Until ``condition`` holds (the threads below get there in microseconds)."""
    for _ in range(10_000):
        if condition():
            return
        threading.Event().wait(0.001)
    raise AssertionError("the appends never queued up")


def _grouped_appends(
    store: AuditStore, contents: list[dict[str, Any]]
) -> tuple[list[Any], list[str]]:
    """Append ``contents`` from one thread each while the first one's commit is held up.

    The first append takes its group and waits for the connection (held here, as an
    fsync in flight would hold it); the others arrive meanwhile. Returns what each append
    returned or raised, and the statements SQLite ran.
    """
    results: list[Any] = [None] * len(contents)
    statements: list[str] = []

    def work(index: int) -> None:
        try:
            results[index] = store.append("card", contents[index])
        except AuditError as error:
            results[index] = error

    store._conn.set_trace_callback(statements.append)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(contents))]
    with store._lock:
        threads[0].start()
        _wait_for(lambda: store._writing)
        for thread in threads[1:]:
            thread.start()
        _wait_for(lambda: len(store._waiting) == len(contents) - 1)
    for thread in threads:
        thread.join()
    store._conn.set_trace_callback(None)
    return results, statements


def test_sqlite_appends_arriving_during_a_commit_are_committed_together(
    sqlite_url: str,
) -> None:
    with AuditStore.open(sqlite_url) as store:
        results, statements = _grouped_appends(store, [{"n": n} for n in range(8)])
        entries = list(store.entries())
    # The first alone, then the seven that waited: two commits, not eight.
    assert statements.count("COMMIT") == 2
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert [entry.seq for entry in results] == [1, *sorted(e.seq for e in results[1:])]
    # Each caller got its own entry back, as committed and chained.
    assert sorted(results, key=lambda e: e.seq) == entries
    assert {entry.content for entry in entries} == {f'{{"n":{n}}}' for n in range(8)}
    report = verify(sqlite_url)
    assert (report.ok, report.entries) == (True, 8)


def test_sqlite_an_entry_refused_in_a_group_fails_alone(sqlite_url: str) -> None:
    with AuditStore.open(sqlite_url) as store:
        store._conn.execute(
            "CREATE TRIGGER refuse_some BEFORE INSERT ON iop_placement_audit"
            " WHEN NEW.content LIKE '%refuse%'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        contents: list[dict[str, Any]] = [{"n": 0}, {"n": 1}, {"refuse": True}, {"n": 3}, {"n": 4}]
        results, statements = _grouped_appends(store, contents)
    assert statements.count("COMMIT") == 2
    refused = [r for r in results if isinstance(r, AuditError)]
    assert len(refused) == 1
    assert refused[0] is results[2]
    assert "refused" not in str(refused[0])  # the driver's text is never echoed
    assert sorted(r.seq for r in results if r is not results[2]) == [1, 2, 3, 4]
    report = verify(sqlite_url)
    assert (report.ok, report.entries) == (True, 4)
