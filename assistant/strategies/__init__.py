"""Answer strategies, in the order the router tries them. A new kind of question is one class here."""

from __future__ import annotations

from assistant.compose import Toolkit
from assistant.strategies.base import Strategy
from assistant.strategies.definition import DefinitionStrategy
from assistant.strategies.document import DocumentFactsStrategy
from assistant.strategies.indicator import IndicatorValueStrategy
from assistant.strategies.outline import (
    ItemDetailStrategy,
    SectionListStrategy,
    SectionTextStrategy,
    TreeFactsStrategy,
)
from assistant.strategies.passage import (
    MeasuresStrategy,
    ResponsibilityStrategy,
    SentenceStrategy,
    TextTargetStrategy,
    WhenStrategy,
)
from assistant.strategies.quote import QuoteCheckStrategy

# Most specific first: a quotation, an item picked from a list, a fact of the document, a named
# section's items, a fact of the tree, a table row; then the kinds of text answer; the fallback last.
STRATEGY_ORDER: list[type[Strategy]] = [
    QuoteCheckStrategy,
    ItemDetailStrategy,
    DocumentFactsStrategy,
    DefinitionStrategy,
    SectionListStrategy,
    TreeFactsStrategy,
    IndicatorValueStrategy,
    SectionTextStrategy,
    ResponsibilityStrategy,
    WhenStrategy,
    TextTargetStrategy,
    MeasuresStrategy,
    SentenceStrategy,
]


def make_strategies(kit: Toolkit) -> list[Strategy]:
    """One instance of each strategy, in router order."""
    return [cls(kit) for cls in STRATEGY_ORDER]


__all__ = ["STRATEGY_ORDER", "Strategy", "make_strategies"]
