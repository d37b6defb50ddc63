"""One big recording of a batch split across Ray tasks (``batch --jobs``).

The recording's own task plans the split (:func:`rerun_bridge.replay.parallel.plan_conversion`), converts
part 0 itself and joins the parts, as ``convert --jobs`` does; the other parts run as Ray tasks instead of
child processes. They share the parts folder and hand messages to part 0 through files, so they must run
on the recording task's machine, and all at once (part 0 waits for what they hand over): one placement
group reserves a CPU per part on this node (``STRICT_PACK`` with this node's own resource). When the node
has no idle CPUs for it within :data:`RESERVE_TIMEOUT_S`, the recording converts in its one task instead:
splitting uses cores that are idle, it never waits for busy ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rerun_bridge.replay.conversion import ConvertSummary
from rerun_bridge.replay.part_runs import PartRun, PartStarter, child_main, read_part_result
from rerun_bridge.replay.split import WorkUnit

#: How long a recording's task waits for CPUs to split onto before converting alone.
RESERVE_TIMEOUT_S: Final = 2.0


@dataclass(slots=True)
class _RayPart:
    """One part running as a Ray task on this node."""

    unit: WorkUnit
    ref: Any
    result_file: Path

    def running(self) -> bool:
        import ray

        ready, _pending = ray.wait([self.ref], timeout=0)
        return not ready

    def result(self, output: Path) -> ConvertSummary:
        import ray

        try:
            ray.get(self.ref)
            ended = "its task ended"
        except Exception as err:  # the worker died (Ray says how); the result file is then missing
            ended = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        return read_part_result(self.unit, self.result_file, output, ended)

    def stop(self) -> None:
        import ray

        if self.running():
            ray.cancel(self.ref, force=True)


@contextmanager
def ray_parts(count: int) -> Iterator[PartStarter | None]:
    """A starter of ``count`` parts as Ray tasks on this node, CPUs reserved for all of them; None when
    they cannot be reserved in time (convert in this task alone)."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    this_node = f"node:{ray.util.get_node_ip_address()}"  # type: ignore[no-untyped-call]
    group = placement_group([{"CPU": 1, this_node: 0.001} for _ in range(count)], strategy="STRICT_PACK")
    try:
        try:
            ray.get(group.ready(), timeout=RESERVE_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            yield None
            return
        task = ray.remote(child_main)

        def start(unit: WorkUnit, job_file: Path, result_file: Path) -> PartRun:
            strategy = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=unit.number - 1)
            ref = task.options(num_cpus=1, max_retries=0, scheduling_strategy=strategy).remote(
                job_file, result_file
            )
            return _RayPart(unit, ref, result_file)

        yield start
    finally:
        remove_placement_group(group)
