"""rerun_bridge: every stream of a robot on one typed, time-indexed log."""

__version__ = "0.1.0"
