"""Shared by every test directory under tests/: the order in which a run starts its tests."""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow(seconds)` start first, the longest first; the others keep their order.

    The unit stage runs on two xdist workers, which take tests in collection order. A test of a few
    minutes collected near the end (the production inventory's validation, the network_cli tests)
    would leave one worker on it alone while the other has nothing left to do. The seconds are a
    measured duration on this machine kind (`--durations`), used for the order only.
    """

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return float(marker.kwargs["seconds"]) if marker else 0.0

    items.sort(key=seconds, reverse=True)
