"""CDS Hooks 2.0: the card for a recommendation, discovery, and answering a hook call."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from helpers import assessment
from iop_placement import (
    Assessment,
    Flag,
    FlagKind,
    OverrideReason,
    Recommendation,
    cds_hooks,
    fhir,
    recommend,
)
from iop_placement.cds_hooks import Card, CdsResponse, Discovery, HookCallError
from iop_placement.testing import assessments

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
PATIENT = "Patient/example"
# A recent authored date: an intake without one gets a note on its card.
AUTHORED = (datetime.now(UTC) - timedelta(days=1)).isoformat()


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _call(prefetch: object = None, **changes: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "example"},
    }
    if prefetch is not None:
        call["prefetch"] = {"intake": prefetch}
    call.update(changes)
    return call


def _call_error(body: object) -> HookCallError:
    with pytest.raises(HookCallError) as caught:
        cds_hooks.answer_hook_call(body)
    return caught.value


def _check_card(card: dict[str, Any], rec: Recommendation) -> None:
    Card.model_validate(card)
    assert len(card["summary"]) < 140
    uuid.UUID(card["uuid"])
    expected = "critical" if Flag.CRISIS in rec.flags else "warning" if rec.flags else "info"
    assert card["indicator"] == expected
    assert rec.ruleset.version in card["source"]["label"]
    assert rec.ruleset.sha256[:12] in card["source"]["label"]
    for reason in rec.reasons:
        assert f"`{reason.rule_id}`" in card["detail"]
    for flag in rec.flags:
        assert flag.label in card["detail"]
    assert rec.ruleset.sha256 in card["detail"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_gives_a_valid_card(path: Path) -> None:
    rec = recommend(json.loads(path.read_text(encoding="utf-8")))
    _check_card(cds_hooks.to_cds_card(rec), rec)


@given(assessments())
def test_every_recommendation_gives_a_valid_card(assessment: Assessment) -> None:
    rec = recommend(assessment)
    _check_card(cds_hooks.to_cds_card(rec), rec)


def test_crisis_asks_for_a_clinicians_evaluation() -> None:
    rec = recommend(_example("crisis"))
    card = cds_hooks.to_cds_card(rec)
    assert card["indicator"] == "critical"
    summary = card["summary"].lower()
    assert "crisis evaluation by a clinician" in summary
    assert "please arrange" in summary
    for directive in ("admit", "must", "send", "transfer", rec.level.label.lower()):
        assert directive not in summary
    assert card["detail"].startswith(f"**{Flag.CRISIS.label}:**")


def test_other_flags_warn_and_plain_cases_inform() -> None:
    withdrawal = cds_hooks.to_cds_card(recommend(_example("inpatient_withdrawal")))
    assert withdrawal["indicator"] == "warning"
    assert Flag.WITHDRAWAL_MANAGEMENT.label in withdrawal["summary"]
    plain = cds_hooks.to_cds_card(recommend(_example("intensive_outpatient")))
    assert plain["indicator"] == "info"
    assert plain["summary"] == "Suggested level of care: Intensive outpatient (IOP)"


def test_a_long_summary_names_every_safety_flag_and_counts_the_rest() -> None:
    rec = recommend(
        assessment(
            detox_status="needed",
            opioid_use_with_lost_tolerance=True,
            home_environment="homeless",
            medically_unstable=True,
            inpatient_accessible=False,
        )
    )
    summary = cds_hooks.to_cds_card(rec)["summary"]
    assert len(rec.flags) >= 5
    assert len(summary) <= 140
    for flag in rec.flags:
        if flag.kind is FlagKind.SAFETY:
            assert flag.label in summary, flag
    assert summary.endswith("more)")


def test_detail_shows_alternative_and_approximate_asam_levels() -> None:
    rec = recommend(_example("inpatient_not_accessible"))
    detail = cds_hooks.to_cds_card(rec)["detail"]
    assert rec.alternative is not None
    assert f"Alternative the clinician may weigh: {rec.alternative.level.label}" in detail
    for condition in rec.alternative.conditions:
        assert condition in detail
    # The 4th edition leads (rule set 2.1.0); the 3rd edition's codes follow.
    assert "**Approximate ASAM Criteria levels:** 4th edition 3.5" in detail
    assert "3rd edition 3.5" in detail
    assert "Approximate correspondence only" in detail


def test_override_reasons_are_the_override_codes() -> None:
    card = cds_hooks.to_cds_card(recommend(_example("standard_outpatient")))
    assert card["overrideReasons"] == [
        {"code": r.value, "system": cds_hooks.OVERRIDE_REASON_SYSTEM, "display": r.label}
        for r in OverrideReason
    ]


def test_the_uuid_can_be_given_and_is_new_otherwise() -> None:
    rec = recommend(_example("standard_outpatient"))
    assert cds_hooks.to_cds_card(rec, card_uuid="fixed")["uuid"] == "fixed"
    assert cds_hooks.to_cds_card(rec)["uuid"] != cds_hooks.to_cds_card(rec)["uuid"]


def test_a_long_flag_list_is_shortened() -> None:
    rec = recommend(_example("inpatient_withdrawal"))
    many = rec.model_copy(update={"flags": tuple(f for f in Flag if f is not Flag.CRISIS)})
    summary = cds_hooks.card_summary(many)
    # As many labels as fit, safety flags first, then how many more the detail lists.
    assert summary.startswith(
        "Suggested level of care: Inpatient / residential \u2014 flags: Withdrawal management"
    )
    shown = summary.count(", ") + 1
    assert summary.endswith(f"(+{len(Flag) - 1 - shown} more)")
    assert len(summary) < 140


def test_markdown_in_rule_text_is_escaped() -> None:
    rec = recommend(_example("standard_outpatient"))
    reason = rec.reasons[0].model_copy(update={"text": "a *b* _c_ <script>"})
    card = cds_hooks.to_cds_card(rec.model_copy(update={"reasons": (reason,)}))
    assert r"a \*b\* \_c\_ &lt;script&gt;" in card["detail"]


def test_discovery_lists_the_service() -> None:
    document = cds_hooks.discovery()
    Discovery.model_validate(document)
    (service,) = document["services"]
    assert service["id"] == cds_hooks.SERVICE_ID == "iop-placement"
    assert service["hook"] == "patient-view"
    assert service["description"]
    assert "{{context.patientId}}" in service["prefetch"]["intake"]
    assert fhir.QUESTIONNAIRE_URL in service["prefetch"]["intake"]
    # The latest usable intake, amended or still being filled in (a provisional card).
    assert "&status=completed,amended,in-progress&" in service["prefetch"]["intake"]


class TestHookCall:
    def test_a_prefetched_response_gives_the_card(self) -> None:
        example = _example("crisis")
        response = fhir.to_questionnaire_response(example, subject=PATIENT, authored=AUTHORED)
        answer = cds_hooks.answer_hook_call(_call(response), card_uuid="card-1")
        CdsResponse.model_validate(answer)
        assert answer == {"cards": [cds_hooks.to_cds_card(recommend(example), card_uuid="card-1")]}

    def test_a_search_bundle_gives_the_same_card(self) -> None:
        example = _example("intensive_outpatient")
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": {"resourceType": "OperationOutcome"}},
                {
                    "resource": fhir.to_questionnaire_response(
                        example, subject=PATIENT, authored=AUTHORED
                    )
                },
            ],
        }
        answer = cds_hooks.answer_hook_call(_call(bundle), card_uuid="card-2")
        assert answer["cards"] == [cds_hooks.to_cds_card(recommend(example), card_uuid="card-2")]

    @pytest.mark.parametrize(
        "body",
        [None, [], "call", _call(context=None), {"hook": "patient-view", "context": {}}],
    )
    def test_a_malformed_call_is_a_400(self, body: object) -> None:
        error = _call_error(body)
        assert error.status == 400
        assert error.payload()["error"] == "the request is not a CDS Hooks call"

    def test_a_missing_member_is_named(self) -> None:
        body = _call(fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT))
        del body["hookInstance"]
        assert [p.field for p in _call_error(body).problems] == ["hookInstance"]

    def test_another_hook_is_a_400(self) -> None:
        body = _call(
            fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT), hook="order-sign"
        )
        error = _call_error(body)
        assert (error.status, error.message) == (
            400,
            "this service answers the 'patient-view' hook only",
        )

    @pytest.mark.parametrize(
        "prefetch",
        [
            None,
            {},
            {"intake": None},
            {"intake": {"resourceType": "OperationOutcome"}},
            {"intake": {"resourceType": "Bundle", "type": "searchset", "entry": []}},
            {"intake": {"resourceType": "Bundle", "type": "searchset"}},
        ],
    )
    def test_no_prefetched_intake_is_a_412(self, prefetch: object) -> None:
        body = _call()
        if prefetch is not None:
            body["prefetch"] = prefetch
        error = _call_error(body)
        assert error.status == 412
        assert "prefetch 'intake'" in error.message

    @pytest.mark.parametrize(
        "intake",
        [
            "QuestionnaireResponse",
            [],
            {"resourceType": "Patient"},
            {"resourceType": "Bundle", "entry": {}},
        ],
    )
    def test_a_prefetch_of_the_wrong_kind_is_a_400(self, intake: object) -> None:
        body = _call()
        body["prefetch"] = {"intake": intake}
        assert _call_error(body).status == 400

    def test_invalid_answers_are_a_400_naming_each_link_id(self) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT)
        secret = "patient-secret-7"
        response["item"] = [i for i in response["item"] if i["linkId"] != "motivation"]
        response["item"][0]["answer"] = [{"valueString": secret}]
        error = _call_error(_call(response))
        assert error.status == 400
        assert [p.field for p in error.problems] == ["substance_use_severity", "motivation"]
        assert secret not in json.dumps(error.payload())


class TestThePatient:
    """Only the hook's patient's intake ever gives a card."""

    def test_another_patients_prefetch_gives_no_card(self) -> None:
        other = fhir.to_questionnaire_response(_example("crisis"), subject="Patient/other")
        error = _call_error(_call(other))
        assert error.status == 400
        assert "not the hook's patient" in error.message

    def test_an_intake_about_nobody_gives_no_card(self) -> None:
        error = _call_error(_call(fhir.to_questionnaire_response(_example("crisis"))))
        assert (error.status, "not the hook's patient" in error.message) == (400, True)

    def test_an_absolute_subject_reference_on_the_hooks_server_is_the_same_patient(
        self,
    ) -> None:
        response = fhir.to_questionnaire_response(
            _example("crisis"), subject="https://ehr.example/fhir/Patient/example"
        )
        body = _call(response, fhirServer="https://ehr.example/fhir/")
        assert len(cds_hooks.answer_hook_call(body)["cards"]) == 1

    @pytest.mark.parametrize(
        ("subject", "server"),
        [
            ("https://other.example/fhir/Patient/example", "https://ehr.example/fhir"),
            ("https://other.example/fhir/Patient/example", None),
            ("https://ehr.example/fhir/x/Patient/example", "https://ehr.example/fhir"),
            ("Patient/example/../other", None),
        ],
    )
    def test_another_servers_patient_with_the_same_id_gives_no_card(
        self, subject: str, server: str | None
    ) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=subject)
        body = _call(response) if server is None else _call(response, fhirServer=server)
        error = _call_error(body)
        assert (error.status, "not the hook's patient" in error.message) == (400, True)

    def test_a_bundle_mixing_patients_gives_no_card(self) -> None:
        mine = fhir.to_questionnaire_response(
            _example("intensive_outpatient"), subject=PATIENT, authored=AUTHORED
        )
        other = fhir.to_questionnaire_response(
            _example("crisis"), subject="Patient/other", authored="2019-01-01"
        )
        for entries in ([mine, other], [other, mine]):
            bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in entries]}
            assert _call_error(_call(bundle)).status == 400

    def test_an_authorization_for_another_patient_gives_no_card(self) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT)
        authorization = {"access_token": "t", "token_type": "Bearer", "patient": "other"}
        error = _call_error(_call(response, fhirAuthorization=authorization))
        assert error.status == 400
        assert "fhirAuthorization.patient" in error.message
        same = {**authorization, "patient": "example"}
        assert len(cds_hooks.answer_hook_call(_call(response, fhirAuthorization=same))) == 1

    def test_a_bundle_with_another_patients_response_gives_no_card(self) -> None:
        bundle = {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": fhir.to_questionnaire_response(
                        _example("crisis"), subject="Patient/example-2"
                    )
                }
            ],
        }
        assert _call_error(_call(bundle)).status == 400

    @pytest.mark.parametrize(
        "context",
        [
            {},
            {"userId": "Practitioner/1"},
            {"patientId": ""},
            {"patientId": 7},
            {"patientId": "a/b"},
        ],
    )
    def test_the_context_needs_a_patient_id(self, context: dict[str, Any]) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT)
        error = _call_error(_call(response, context=context))
        assert error.status == 400

    @pytest.mark.parametrize("instance", ["", "42", "d1577c69-dfbe-44ad-ba6d", "x" * 36])
    def test_the_hook_instance_is_a_uuid(self, instance: str) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT)
        error = _call_error(_call(response, hookInstance=instance))
        assert [p.field for p in error.problems] == ["hookInstance"]


class _FhirStub:
    """A small FHIR server on loopback: answers the intake search, records what it was sent."""

    def __init__(self, answer: object, status: int = 200, location: str | None = None) -> None:
        import http.server
        import threading

        stub = self
        self.requests: list[tuple[str, str | None]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append((self.path, self.headers.get("Authorization")))
                body = json.dumps(answer).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _FhirStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fetching_call(server: str) -> dict[str, Any]:
    return _call(
        fhirServer=server,
        fhirAuthorization={"access_token": "token-abc", "token_type": "Bearer", "scope": "x"},
    )


class TestFetchingFromTheFhirServer:
    def test_without_a_prefetch_the_intake_is_fetched_with_the_token(self) -> None:
        example = _example("intensive_outpatient")
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {
                    "resource": fhir.to_questionnaire_response(
                        example, subject=PATIENT, authored=AUTHORED
                    )
                }
            ],
        }
        with _FhirStub(bundle) as stub:
            answer = cds_hooks.answer_hook_call(_fetching_call(stub.url), card_uuid="c")
        assert answer["cards"] == [cds_hooks.to_cds_card(recommend(example), card_uuid="c")]
        ((path, authorization),) = stub.requests
        assert path.startswith("/fhir/QuestionnaireResponse?")
        assert "subject=Patient%2Fexample" in path
        assert authorization == "Bearer token-abc"

    def test_a_failed_prefetch_is_fetched_again(self) -> None:
        example = _example("crisis")
        with _FhirStub(fhir.to_questionnaire_response(example, subject=PATIENT)) as stub:
            body = _fetching_call(stub.url)
            body["prefetch"] = {"intake": {"resourceType": "OperationOutcome"}}
            assert len(cds_hooks.answer_hook_call(body)["cards"]) == 1

    def test_a_fetched_intake_of_another_patient_gives_no_card(self) -> None:
        other = fhir.to_questionnaire_response(_example("crisis"), subject="Patient/other")
        with _FhirStub(other) as stub:
            error = _call_error(_fetching_call(stub.url))
        assert error.status == 400

    @pytest.mark.parametrize(
        ("answer", "status"),
        [({"resourceType": "OperationOutcome"}, 401), ([1, 2], 200), ("x" * 10, 200)],
    )
    def test_a_server_that_cannot_help_is_a_412(self, answer: object, status: int) -> None:
        with _FhirStub(answer, status) as stub:
            error = _call_error(_fetching_call(stub.url))
        assert error.status in {400, 412}
        assert "x" * 10 not in error.message

    def test_a_redirect_is_not_followed(self) -> None:
        with _FhirStub({}, 302, location="http://127.0.0.1:9/steal") as stub:
            error = _call_error(_fetching_call(stub.url))
        assert (error.status, len(stub.requests)) == (412, 1)

    @pytest.mark.parametrize(
        "server", ["http://ehr.example/fhir", "ftp://127.0.0.1/fhir", "file:///etc/passwd"]
    )
    def test_only_https_or_loopback_http_is_asked(self, server: str) -> None:
        error = _call_error(_fetching_call(server))
        assert error.status == 412
        assert "https" in error.message

    def test_without_fhir_server_or_with_fetching_off_it_is_a_412(self) -> None:
        with _FhirStub({}) as stub:
            with pytest.raises(HookCallError) as caught:
                cds_hooks.answer_hook_call(_fetching_call(stub.url), fetch=False)
            assert stub.requests == []
        assert caught.value.status == 412


def _qr(name: str, authored: str | None = AUTHORED, status: str = "completed") -> dict[str, Any]:
    response = fhir.to_questionnaire_response(_example(name), subject=PATIENT, authored=authored)
    response["status"] = status
    return response


def _bundle(*responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": response} for response in responses],
    }


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


class TestWhichIntake:
    """Issue 24, item 1: the latest usable intake, dated sensibly, for the right patient."""

    def test_a_stale_first_intake_does_not_hide_a_later_crisis(self) -> None:
        old = _qr("standard_outpatient", "2019-03-01T09:00:00Z")
        new = _qr("crisis", _days_ago(2))
        for bundle in (_bundle(old, new), _bundle(new, old)):
            (card,) = cds_hooks.answer_hook_call(_call(bundle))["cards"]
            assert card["indicator"] == "critical"
            assert "crisis evaluation" in card["summary"]
            assert "Standard outpatient" not in card["summary"]

    def test_an_entered_in_error_entry_does_not_refuse_a_usable_one(self) -> None:
        wrong = _qr("crisis", _days_ago(1), status="entered-in-error")
        usable = _qr("intensive_outpatient", _days_ago(3))
        (card,) = cds_hooks.answer_hook_call(_call(_bundle(wrong, usable)))["cards"]
        assert card["summary"] == "Suggested level of care: Intensive outpatient (IOP)"

    def test_only_refused_intakes_give_no_card(self) -> None:
        wrong = _qr("crisis", status="entered-in-error")
        stopped = _qr("crisis", status="stopped")
        error = _call_error(_call(_bundle(wrong, stopped)))
        assert error.status == 400
        assert [p.field for p in error.problems] == ["status"]

    @pytest.mark.parametrize("authored", ["2999-01-01T00:00:00Z", "2999-01-01"])
    def test_an_intake_dated_in_the_future_is_refused(self, authored: str) -> None:
        error = _call_error(_call(_bundle(_qr("crisis", _days_ago(1)), _qr("crisis", authored))))
        assert error.status == 400
        assert "future" in error.message
        assert [p.field for p in error.problems] == ["authored"]

    def test_a_few_minutes_of_clock_skew_are_allowed(self) -> None:
        soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        assert len(cds_hooks.answer_hook_call(_call(_qr("crisis", soon)))["cards"]) == 1

    @pytest.mark.parametrize("authored", ["yesterday", 20260101, "2026-13-45"])
    def test_an_unreadable_authored_date_is_refused(self, authored: object) -> None:
        response = _qr("crisis")
        response["authored"] = authored
        error = _call_error(_call(response))
        assert (error.status, [p.field for p in error.problems]) == (400, ["authored"])
        assert "yesterday" not in json.dumps(error.payload())

    @pytest.mark.parametrize("authored", ["1970-01-01T00:00:00Z", "2019-03-01"])
    def test_an_old_intake_gets_a_stale_card_and_no_level(self, authored: str) -> None:
        (card,) = cds_hooks.answer_hook_call(_call(_qr("crisis", authored)))["cards"]
        Card.model_validate(card)
        assert card["indicator"] == "warning"
        assert card["summary"].startswith(f"Latest intake is from {authored[:10]}")
        assert "reassess" in card["summary"]
        assert "overrideReasons" not in card
        for level in ("Inpatient", "Intensive outpatient", "Standard outpatient"):
            assert level not in card["summary"]
            assert level not in card["detail"]

    def test_the_maximum_age_is_configurable(self) -> None:
        body = _call(_qr("intensive_outpatient", _days_ago(200)))
        stale = cds_hooks.answer_hook_call(body)["cards"][0]
        assert stale["summary"].startswith("Latest intake is from")
        card = cds_hooks.answer_hook_call(body, max_intake_age_days=365)["cards"][0]
        assert card["summary"] == "Suggested level of care: Intensive outpatient (IOP)"
        later = datetime.now(UTC) + timedelta(days=400)
        card = cds_hooks.answer_hook_call(body, max_intake_age_days=365, now=later)["cards"][0]
        assert card["summary"].startswith("Latest intake is from")

    def test_an_undated_intake_is_used_and_its_card_says_so(self) -> None:
        (card,) = cds_hooks.answer_hook_call(_call(_qr("crisis", None)))["cards"]
        assert card["detail"].startswith("**Crisis")
        assert "no authored date" in card["detail"]

    def test_an_in_progress_intake_gives_a_provisional_card(self) -> None:
        response = _qr("intensive_outpatient", status="in-progress")
        response["item"] = [i for i in response["item"] if i["linkId"] != "suicide_risk"]
        (card,) = cds_hooks.answer_hook_call(_call(response))["cards"]
        Card.model_validate(card)
        assert card["summary"].startswith("Provisional")
        assert "ask next" in card["summary"]
        assert "Suicide risk" in card["summary"]
        assert "Suggested level of care" not in card["summary"] + card["detail"]
        assert "overrideReasons" not in card

    def test_an_in_progress_intake_with_every_answer_is_still_provisional(self) -> None:
        answers = _example("inpatient_withdrawal") | {
            "withdrawal_severity": "severe",
            "recovery_residence": "none",
            "prior_iop_failed": False,
            "recent_overdose": False,
            "use_status": "active",
            "addiction_medication": "not_indicated",
            "complicated_withdrawal_history": False,
            "obligations": ["work"],
        }
        response = fhir.to_questionnaire_response(answers, subject=PATIENT, authored=AUTHORED)
        response["status"] = "in-progress"
        (card,) = cds_hooks.answer_hook_call(_call(response))["cards"]
        Card.model_validate(card)
        assert card["summary"].startswith("Provisional (intake not completed): Inpatient")
        assert "Suggested level of care" not in card["summary"] + card["detail"]
        assert "complete the intake" in card["detail"]
        assert "overrideReasons" not in card

    def test_a_later_in_progress_intake_is_the_one_used(self) -> None:
        done = _qr("standard_outpatient", _days_ago(5))
        ongoing = _qr("crisis", _days_ago(1), status="in-progress")
        (card,) = cds_hooks.answer_hook_call(_call(_bundle(done, ongoing)))["cards"]
        assert card["summary"].startswith("Provisional")
        assert card["indicator"] == "critical"

    def test_the_answer_says_what_kind_of_card_it_is(self) -> None:
        stale = cds_hooks.answer_hook(_call(_qr("crisis", "2019-03-01")))
        assert (stale.kind, stale.recommendation) == ("stale", None)
        assert stale.audit_content()["card_kind"] == "stale"
        ongoing = cds_hooks.answer_hook(_call(_qr("crisis", status="in-progress")))
        assert ongoing.kind == "provisional"
        assert ongoing.provisional is not None
        assert "recommended_level" not in ongoing.audit_content()
        final = cds_hooks.answer_hook(_call(_qr("crisis")))
        assert final.recommendation is not None
        assert final.audit_content()["recommended_level"] == "inpatient"


@pytest.mark.parametrize(
    ("status", "authored"),
    [
        ("completed", AUTHORED),
        ("completed", None),
        ("in-progress", AUTHORED),
        ("completed", (datetime.now(UTC) - timedelta(days=400)).isoformat()),
    ],
    ids=["recommendation", "no authored date", "provisional", "stale"],
)
def test_every_kind_of_answer_is_a_cds_response_as_its_model_dumps_it(
    status: str, authored: str | None
) -> None:
    # The service sends each card as the Card model dumped it, without a second pass.
    for name in ("crisis", "intensive_outpatient", "standard_outpatient"):
        response = fhir.to_questionnaire_response(
            _example(name), subject=PATIENT, authored=authored
        )
        response["status"] = status
        if status == "in-progress":
            response["item"] = response["item"][:5]
        answer = cds_hooks.answer_hook_call(_call(response))
        dumped = CdsResponse.model_validate(answer).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        assert json.dumps(answer) == json.dumps(dumped)
