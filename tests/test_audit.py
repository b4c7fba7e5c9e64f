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
from iop_placement.audit import GENESIS, AuditError, AuditStore, entry_hash, verify
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


@contextmanager
def _raw(url: str) -> Iterator[Any]:
    """A raw connection with the append-only triggers dropped: the tamperer's view."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as conn:
            conn.execute("DROP TRIGGER iop_placement_audit_no_update")
            conn.execute("DROP TRIGGER iop_placement_audit_no_delete")
            yield conn
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("DROP TRIGGER iop_placement_audit_append_only ON iop_placement_audit")
        yield pg


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
    with AuditStore.open(url) as store:
        conn = store._conn
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
    assert out.getvalue() == f"3 entries, chain intact; head {head}\n"
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
    assert main(["audit", "verify", "--db", opener(tmp_path)]) == 1
    assert "secretpw" not in capsys.readouterr().err
