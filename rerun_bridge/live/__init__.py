"""The live node's machinery apart from rclpy (:mod:`rerun_bridge.node` owns the node itself).

DDS callbacks enqueue into bounded per-topic :mod:`.queues`; one conversion :mod:`.worker` thread feeds the
pipeline and flushes its sinks; the raw MCAP re-recording has a thread of its own (:mod:`.mcap_recorder`);
:mod:`.stats` and :mod:`.diagnostics` count and report what happened per topic.
"""
