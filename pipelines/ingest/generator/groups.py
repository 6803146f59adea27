"""Items by group, sorted once, for drawing another item of the same group many times over."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Groups:
    """Items (sorted ids) and the group of each, arranged by group.

    Built once per population: the generator draws from it for every block and month, and
    arranging the transfer users by cluster each time grew with the population, block by block
    (#20)."""

    items: np.ndarray  # item ids, ascending
    order: np.ndarray  # positions in `items`, grouped by group (stable within a group)
    offsets: np.ndarray  # where each group starts in `order`
    counts: np.ndarray  # items per group

    @classmethod
    def of(cls, items: np.ndarray, group: np.ndarray, n_groups: int) -> Groups:
        """`items` sorted ascending, `group` in 0..n_groups-1 for each."""
        counts = np.bincount(group, minlength=n_groups)
        return cls(
            items=items,
            order=np.argsort(group, kind="stable"),
            offsets=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            counts=counts,
        )

    def other(self, rng: np.random.Generator, of: np.ndarray, group_of: np.ndarray) -> np.ndarray:
        """For each id of `of`, another item of its group `group_of` (-1: none) than itself,
        drawn uniformly; -1 where there is none."""
        if len(self.items) == 0:
            return np.full(len(of), -1)
        # The position of each id among the items, or -1: an item is never drawn for itself.
        at = np.minimum(np.searchsorted(self.items, of), len(self.items) - 1)
        own = np.where(self.items[at] == of, at, -1)
        g = np.maximum(group_of, 0)
        others = self.counts[g] - (own >= 0)
        pos = np.floor(rng.random(len(g)) * np.maximum(others, 0)).astype(np.int64)
        end = len(self.order) - 1
        picked = self.order[np.minimum(self.offsets[g] + pos, end)]
        # An item's draw is among all but its group's last item: where it is its own, the last.
        last = self.order[np.minimum(self.offsets[g] + np.maximum(others, 0), end)]
        picked = np.where(picked == own, last, picked)
        found = (group_of >= 0) & (others > 0)
        return np.where(found, self.items[np.where(found, picked, 0)], -1)
