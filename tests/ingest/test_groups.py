"""Drawing another member of one's friend group: against a plain loop over the groups."""

from __future__ import annotations

import numpy as np
from scipy import stats

from pipelines.ingest.generator.groups import Groups


def _small() -> tuple[Groups, dict[int, set[int]]]:
    # Items are sparse ids; group 2 has one item, group 3 none.
    items = np.array([3, 5, 8, 13, 21, 34, 55, 89])
    group = np.array([0, 1, 0, 2, 1, 0, 1, 0])
    members: dict[int, set[int]] = {}
    for item, g in zip(items.tolist(), group.tolist(), strict=True):
        members.setdefault(g, set()).add(item)
    return Groups.of(items, group, 4), members


def test_each_draw_is_another_item_of_the_same_group_or_none_when_there_is_none() -> None:
    groups, members = _small()
    rng = np.random.default_rng(1)
    # Rows: items themselves, ids that are not items (asking on behalf of a group), no group.
    of = np.array([3, 5, 13, 89, 4, 100, 21, 7])
    group_of = np.array([0, 1, 2, 0, 0, 3, -1, 1])
    for _ in range(200):
        got = groups.other(rng, of, group_of).tolist()
        for row, (who, g) in enumerate(zip(of.tolist(), group_of.tolist(), strict=True)):
            allowed = members.get(g, set()) - {who} if g >= 0 else set()
            if allowed:
                assert got[row] in allowed, (row, got[row], allowed)
            else:
                assert got[row] == -1, (row, got[row])


def test_draws_are_uniform_over_the_others() -> None:
    groups, _ = _small()
    rng = np.random.default_rng(2)
    n = 30_000
    # Item 8 of group 0: the others are 3, 34, 89; an outsider of group 0 may get all four.
    for who, expected in ((8, [3, 34, 89]), (1000, [3, 8, 34, 89])):
        got = groups.other(rng, np.full(n, who), np.zeros(n, dtype=np.int64))
        counts = [int((got == e).sum()) for e in expected]
        assert sum(counts) == n
        assert stats.chisquare(counts).pvalue > 1e-4, counts


def test_no_items_at_all_gives_none_for_every_row() -> None:
    groups = Groups.of(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 1)
    got = groups.other(np.random.default_rng(0), np.array([1, 2]), np.array([0, -1]))
    assert got.tolist() == [-1, -1]
