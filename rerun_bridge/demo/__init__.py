"""The built-in sample: a synthetic robot recording (:mod:`.sample_bag`) and ``make demo``'s end-to-end run
(:mod:`.run`, also ``python -m rerun_bridge.demo``)."""

from rerun_bridge.demo.run import main
from rerun_bridge.demo.sample_bag import SampleSpec, write_sample

__all__ = ["SampleSpec", "main", "write_sample"]
