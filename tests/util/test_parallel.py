"""gopolicy.util.parallel: order, bounded read-ahead, and pools that end cleanly under a stop handler."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from gopolicy.util.parallel import bounded_map, chunked


def test_chunked_and_bounded_map_keep_order():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(bounded_map(abs, range(-20, 0), jobs=2)) == list(range(20, 0, -1))


def test_bounded_map_reads_only_a_few_items_ahead():
    consumed = []

    def items():
        for i in range(100):
            consumed.append(i)
            yield -i

    results = bounded_map(abs, items(), jobs=2)
    assert next(results) == 0
    assert len(consumed) <= 5  # not the whole input, as Pool.imap would
    assert list(results) == list(range(1, 100))


POOLS_UNDER_A_STOP_HANDLER = textwrap.dedent("""
    import itertools, time
    from gopolicy.util.interrupt import StopRequest
    from gopolicy.util.parallel import bounded_map

    def slow_start():  # a worker still setting up when the pool is already done with it
        time.sleep(0.3)

    with StopRequest():
        for _ in range(3):
            assert list(bounded_map(abs, [], 2, initializer=slow_start)) == []
            assert list(itertools.islice(bounded_map(abs, range(-50, 0), 2, initializer=slow_start), 1)) == [50]
    print("ended")
""")


def test_pools_end_even_when_their_workers_are_still_starting_under_a_stop_handler():
    # A worker forked with the parent's Python SIGTERM handler, and sent SIGTERM before it
    # has reset it, used to swallow the signal and wait for work forever (seen as a hung
    # `gopolicy eval` of a file with no games on a busy machine).
    done = subprocess.run([sys.executable, "-c", POOLS_UNDER_A_STOP_HANDLER], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ended"
