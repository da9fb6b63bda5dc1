"""One paging rule for every list: which page, which rows. Pure (no aiogram), used by services and UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """Page `number` (from 0) of a list of `total` items, `size` per page; a page past either end is
    brought back within the list."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, number: int, size: int, total: int) -> Page:
        pages = max(1, -(-total // size))
        return cls(number=min(max(number, 0), pages - 1), size=size, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return self.number * self.size

    def cut(self, items: Sequence[T]) -> Sequence[T]:
        """This page's part of a list held whole in memory."""
        return items[self.offset : self.offset + self.size]
