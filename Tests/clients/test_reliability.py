"""Short versions of `make crash-test` (5 kill -9 under writers) and `make soak` (15 s of mixed traffic): the full
runs are their own targets, with their figures in docs/reliability.md."""
import sys

from conftest import BINARY, REPO

sys.path.insert(0, str(REPO / "Tests" / "reliability"))

import crash_test  # noqa: E402
import soak  # noqa: E402


def test_acknowledged_writes_survive_kill_9():
    assert crash_test.run(str(BINARY), 5) == 0


def test_a_short_soak_keeps_memory_and_descriptors_flat():
    assert soak.run(str(BINARY), 15) == 0
