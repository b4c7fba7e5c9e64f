"""CDS Hooks 2.0: a recommendation as a card, and the service that answers ``patient-view``.

::

    from iop_placement import cds_hooks, recommend
    card = cds_hooks.to_cds_card(recommend(assessment))   # a JSON-ready dict
    cds_hooks.discovery()                                 # GET {base}/cds-services
    cds_hooks.answer_hook_call(request_json)              # POST {base}/cds-services/iop-placement
    cds_hooks.parse_feedback(feedback_json)               # POST .../iop-placement/feedback

The card and service models are this library's own (:class:`Card` and friends): no
maintained Python library models CDS Hooks. An ASGI app serving these endpoints is in
:mod:`iop_placement.service` (``pip install 'iop-placement[service]'``).
"""

from __future__ import annotations

from iop_placement.cds_hooks._card import (
    OVERRIDE_REASON_SYSTEM,
    card_indicator,
    card_summary,
    to_cds_card,
)
from iop_placement.cds_hooks._feedback import CardOutcome, parse_feedback
from iop_placement.cds_hooks._fetch import FhirFetchError
from iop_placement.cds_hooks._models import (
    Card,
    CdsResponse,
    Coding,
    Discovery,
    Feedback,
    FeedbackItem,
    HookRequest,
    Link,
    ServiceDefinition,
    Source,
)
from iop_placement.cds_hooks._reassess_card import reassessment_card
from iop_placement.cds_hooks._service import (
    PREFETCH_KEY,
    SERVICE_HOOK,
    SERVICE_ID,
    HookAnswer,
    HookCallError,
    answer_hook,
    answer_hook_call,
    discovery,
    service_definition,
)

__all__ = [
    "OVERRIDE_REASON_SYSTEM",
    "PREFETCH_KEY",
    "SERVICE_HOOK",
    "SERVICE_ID",
    "Card",
    "CardOutcome",
    "CdsResponse",
    "Coding",
    "Discovery",
    "Feedback",
    "FeedbackItem",
    "FhirFetchError",
    "HookAnswer",
    "HookCallError",
    "HookRequest",
    "Link",
    "ServiceDefinition",
    "Source",
    "answer_hook",
    "answer_hook_call",
    "card_indicator",
    "card_summary",
    "discovery",
    "parse_feedback",
    "reassessment_card",
    "service_definition",
    "to_cds_card",
]
