"""Care over time: reassessment with continued-service and transfer rules kept as data.

::

    from iop_placement.reassessment import reassess
    r = reassess(previous_assessment, current_assessment, current_level="inpatient",
                 days_in_level=12)
    r.decision, r.justification, r.not_yet_safe, r.dimensions

The decision comes from ``rules/transitions.json``; ``verify_transitions`` checks its
invariants (never a step-down while a safety flag is raised; a worsening never gives a
step-down) over every combination of the facts the rules read.
"""

from __future__ import annotations

from iop_placement._model.reassessment import (
    DimensionDelta,
    InvalidReassessment,
    Reassessment,
    Transition,
    TransitionReason,
    TransitionRulesInfo,
)
from iop_placement.reassessment._catalogue import render_transitions_markdown
from iop_placement.reassessment._reassess import facts_of, reassess
from iop_placement.reassessment._rules import (
    FACTS,
    TRANSITIONS_FILE,
    TransitionFacts,
    TransitionRules,
    load_transition_rules,
)
from iop_placement.reassessment._verify import (
    INVARIANTS,
    TransitionVerification,
    verify_transitions,
)

__all__ = [
    "FACTS",
    "INVARIANTS",
    "TRANSITIONS_FILE",
    "DimensionDelta",
    "InvalidReassessment",
    "Reassessment",
    "Transition",
    "TransitionFacts",
    "TransitionReason",
    "TransitionRules",
    "TransitionRulesInfo",
    "TransitionVerification",
    "facts_of",
    "load_transition_rules",
    "reassess",
    "render_transitions_markdown",
    "verify_transitions",
]
