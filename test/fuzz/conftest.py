"""Hypothesis profiles for the fuzz tests, and a cap on memory while they run.

``ci`` (the default) keeps the fuzz tests to about a minute on two cores; ``thorough``
(``HYPOTHESIS_PROFILE=thorough``, ``make fuzz``) runs about eighty times as many examples.
``deadline=None``: an example's time depends on the machine's load; a hang is the test timeout's to catch.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

#: Examples per fuzzed type (converters, decoders) in each profile.
EXAMPLES = {"ci": 6, "thorough": 500}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
#: How much more address space a fuzz test may take than the process had: a lying length that makes a
#: converter or decoder allocate gigabytes fails with MemoryError (caught as a bug) instead of taking
#: the machine's memory.
MEMORY_HEADROOM = 2 << 30

for name, examples in EXAMPLES.items():
    settings.register_profile(
        name,
        max_examples=examples,
        deadline=None,
        database=None,  # no example files written into the repository
        derandomize=name == "ci",  # CI runs the same examples each time: a failure there is reproducible
        # CI reports a failing example as found: shrinking one on a loaded 2-core machine takes minutes.
        phases=[Phase.explicit, Phase.generate] if name == "ci" else list(Phase),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
settings.load_profile(PROFILE if PROFILE in EXAMPLES else "ci")


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


@pytest.fixture(autouse=True)
def memory_cap() -> Iterator[None]:
    """Address space capped at what the process has plus :data:`MEMORY_HEADROOM` for the test's duration."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
