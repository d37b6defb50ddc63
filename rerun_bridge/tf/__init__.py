"""TF without tf2_ros: a buffer with tf2's lookup semantics (:mod:`.buffer`) and quaternion math in ROS
order (:mod:`.quaternion`).
"""
