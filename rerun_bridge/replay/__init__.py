"""Bag conversion: rosbag2 recordings (MCAP, sqlite3, split) replayed through the pipeline into .rrd and
raw .mcap files, or into any row sink (the viewer's store).

:func:`convert_bags` is the whole wing's face; :mod:`.conversion` holds it, :mod:`.column_batches` the
batch-at-a-time path for small high-rate topics.
"""

from rerun_bridge.replay.conversion import ConvertSummary, TopicSelection, convert_bags, topic_kind_label

__all__ = ["ConvertSummary", "TopicSelection", "convert_bags", "topic_kind_label"]
