"""Every transition of the track life cycle, and the vectorized table agrees with the reference."""

import itertools

import numpy as np
import pytest

from lsv_perception.tracking.lifecycle import TrackState, transition, transition_array

T = TrackState
KW = {"confirm_hits": 3, "tentative_timeout_s": 0.25, "coast_timeout_s": 1.0}


@pytest.mark.parametrize(("state", "hit", "hits", "since", "expected"), [
    (T.TENTATIVE, True, 2, 0.0, T.TENTATIVE),     # not enough hits yet
    (T.TENTATIVE, True, 3, 0.0, T.CONFIRMED),     # confirmation
    (T.TENTATIVE, False, 2, 0.2, T.TENTATIVE),    # one miss is tolerated
    (T.TENTATIVE, False, 2, 0.3, T.DELETED),      # tentative timeout
    (T.CONFIRMED, True, 10, 0.0, T.CONFIRMED),
    (T.CONFIRMED, False, 10, 0.1, T.COASTING),    # missed: coast on the prediction
    (T.CONFIRMED, False, 10, 1.5, T.DELETED),     # a long gap (input stalled): gone at once
    (T.COASTING, True, 11, 0.0, T.CONFIRMED),     # found again, same id
    (T.COASTING, False, 10, 0.5, T.COASTING),
    (T.COASTING, False, 10, 1.1, T.DELETED),      # coast timeout
    (T.DELETED, True, 10, 0.0, T.DELETED),        # deletion is final
    (T.DELETED, False, 10, 5.0, T.DELETED),
])
def test_transition(state, hit, hits, since, expected):
    assert transition(state, hit, hits, since, **KW) is expected


def test_array_version_agrees_with_the_reference_on_every_combination():
    cases = list(itertools.product(list(T), [False, True], [1, 2, 3, 4], [0.0, 0.2, 0.3, 0.9, 1.2]))
    state = np.array([c[0] for c in cases], np.int8)
    hit = np.array([c[1] for c in cases])
    hits = np.array([c[2] for c in cases])
    since = np.array([c[3] for c in cases])
    got = transition_array(state, hit, hits, since, **KW)
    expected = [transition(*c, **KW) for c in cases]
    assert [T(int(g)) for g in got] == expected
