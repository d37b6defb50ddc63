"""The vocabulary every other part shares, and that imports nothing of theirs: entity paths, timelines,
rows, ROS type names, the records of recordings, the network stream's wire format and YAML checks.
"""
