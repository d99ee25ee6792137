"""What the boards' counters' recent raises changed, as far as this bot process saw them committed.

A rating of a colleague changes the tallies of one target and raises the individuals' counter (storage.boards);
computing the 10,000-member board afresh after it reads every tally of the period. With the journal, a board kept
a few versions back is computed again from the targets those versions changed instead (see
`storage.scoring.board_with_changes`): their tallies are read again, everyone else's are taken from the kept board.

Each raise records the (period, target) pairs whose tallies its transaction changed, with EVERY_PERIOD for a
change of the target itself (a member's name or section, a section archived, a task's lateness, which counts in
whichever period it falls due), or None when it changed anything else the boards read (a period, a section's name on
the individuals' boards) or cannot tell which targets. A version this
process did not commit (another process's, `python -m bot check --repair`'s) or whose entry has been dropped is
missing. Either way the board is computed afresh: the journal only ever saves work.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from storage.models import TargetKind

JOURNAL = "shuangyou.board_journal"  # in Session.info (every session of a Database): its Journal
KEPT_VERSIONS = 200  # per kind: a board more versions behind than this is computed afresh anyway

Touched = frozenset[tuple[int, int]]  # (period id, target id) pairs
EVERY_PERIOD = 0  # as the period id of a pair: the target changed in every period


class Journal:
    def __init__(self, size: int = KEPT_VERSIONS) -> None:
        self.size = size
        self._entries: dict[TargetKind, OrderedDict[int, Touched | None]] = {kind: OrderedDict() for kind in TargetKind}

    def record(self, kind: TargetKind, version: int, touched: Iterable[tuple[int, int]] | None) -> None:
        entries = self._entries[kind]
        entries[version] = None if touched is None else frozenset(touched)
        while len(entries) > self.size:
            entries.popitem(last=False)

    def targets_changed(self, kind: TargetKind, period_id: int, since: int, until: int) -> set[int] | None:
        """The targets whose tallies of the period the versions after `since` up to `until` changed; None when any
        of those versions is missing or changed more than tallies."""
        if not 0 <= since < until or until - since > self.size:
            return None
        entries = self._entries[kind]
        changed: set[int] = set()
        for version in range(since + 1, until + 1):
            touched = entries.get(version)
            if touched is None:
                return None
            changed.update(target for touched_period, target in touched if touched_period in (period_id, EVERY_PERIOD))
        return changed
