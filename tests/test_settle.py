"""`bot.loop.settle`: what start-up built is kept out of the collector's passes once the bot serves, and
the youngest generation is collected less often."""

from __future__ import annotations

import gc
import weakref

from bot.loop import YOUNG_THRESHOLD, settle


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settle_frees_start_up_garbage_and_freezes_the_rest() -> None:
    kept = _Node()
    garbage = _Node()
    garbage.other = _Node()
    garbage.other.other = garbage  # a cycle: only the collector frees it
    gone = weakref.ref(garbage)
    del garbage
    before = gc.get_threshold()
    try:
        settle()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
        assert gone() is None, "unreachable start-up objects are freed before freezing"
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(kept)
        # a full collection now walks only what was made after settling, not the frozen objects
        made_after = [_Node() for _ in range(10)]
        assert gc.collect() == 0
        assert len(made_after) == 10
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
