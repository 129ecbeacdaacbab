"""pytest plugin of the stack's tests (the root conftest.py loads it): ``needs_netns`` tests are
skipped outside scripts/netns_sandbox.sh's network namespace on a developer's machine and fail in CI."""

from __future__ import annotations

import pytest

from lsv_common.testing import netns_problem


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_netns: needs scripts/netns_sandbox.sh's private network namespace "
                                       "(skipped outside it, failed in CI)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_netns") is None:
        return
    problem = netns_problem()
    if problem is None:
        return
    action, why = problem
    if action == "fail":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)
