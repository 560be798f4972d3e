"""The answer-strategy interface: `match(query, state)` and `answer(query, hits) -> Draft | None`."""

from __future__ import annotations

from abc import ABC, abstractmethod

from assistant.compose import Draft, Toolkit
from assistant.query import Query
from assistant.types import DialogueState, Hit


class Strategy(ABC):
    """One kind of answer. The router tries strategies in order; the first Draft wins."""

    name = "strategy"
    # Answers only from the hits it is given (none given: no answer), not from the parsed tree: the
    # router need not ask it about a plan that none of the hits is from.
    from_hits = False

    def __init__(self, kit: Toolkit) -> None:
        self.kit = kit

    @abstractmethod
    def match(self, query: Query, state: DialogueState | None) -> bool:
        """Could this strategy answer the query at all? (cheap: no retrieval work)"""

    @abstractmethod
    def answer(self, query: Query, hits: list[Hit]) -> Draft | None:
        """A draft answer from the hits and the corpus, or None to let the next strategy try."""

    def plan_label(self, plan_key: str) -> str:
        return self.kit.plan_names.get(plan_key, plan_key)
