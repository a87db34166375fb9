"""The NEED record: what one message says a shopper wants (contract in ``shared/DESIGN.md``).

In a module of its own so that the pipeline, the field assembly and the conversation service
can all import it without importing one another.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Need:
    product: str | None = None
    category: str | None = None
    attributes: list[str] = field(default_factory=list)
    colour: list[str] = field(default_factory=list)
    size: list[str] = field(default_factory=list)
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = None
    quantity: int | None = None
    recipient: str | None = None
    occasion: str | None = None
    needed_by: str | None = None
    confidence: float = 0.0
    # character span of the product phrase in the message (not part of the NEED contract)
    span: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("span")
        return data
