"""The order the coverage reductions sort each community's points in (distance, then position),
and their running sums within a community."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.analysis.coverage import _segment_cumsum, _segment_order


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from([0.0, 1.0, 2.5, 2.5, 7.0, np.inf])),
        min_size=1,
        max_size=80,
    )
)
def test_segment_order_is_lexsort_by_segment_distance_position(rows):
    """Points grouped by community (ties in distance everywhere): the same order as
    ``np.lexsort((position, distance, community))``, which the coverage table used before."""
    codes = np.array(sorted(c for c, _ in rows))
    d = np.array([v for _, v in rows])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    expected = np.lexsort((np.arange(len(d)), d, codes))
    np.testing.assert_array_equal(_segment_order(d, starts, sizes), expected)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.floats(0, 1e4, allow_nan=False, allow_subnormal=False)),
        min_size=1,
        max_size=80,
    )
)
def test_segment_cumsum_is_each_segments_own_cumsum(rows):
    """The running sum restarts at each community and adds its points in order: bit for bit
    ``np.cumsum`` of the community's points alone (whatever comes before it)."""
    codes = np.array(sorted(c for c, _ in rows))
    w = np.array([v for _, v in rows])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    expected = np.concatenate([np.cumsum(w[s : s + n]) for s, n in zip(starts, sizes, strict=True)])
    got = _segment_cumsum(w, starts, sizes)
    assert got.tobytes() == expected.tobytes()
    assert got is not w and np.array_equal(w, [v for _, v in rows])  # the input is not changed
