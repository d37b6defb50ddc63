"""A real ROS 2 subscriber process for the live tests: prints, as JSON, the first DiagnosticArray in which
the named status has counted a received message (or the last one seen at the timeout)."""

from __future__ import annotations

import json
import sys
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node


def main() -> None:
    topic, timeout, wanted = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    rclpy.init()
    node = Node("test_diagnostics_listener")
    received: list[DiagnosticArray] = []
    node.create_subscription(DiagnosticArray, topic, received.append, 10)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
        # The first arrays may come before any message did: wait for one that counted something.
        if any(
            int(kv.value) > 0
            for array in received[-1:]
            for status in array.status
            if status.name == wanted
            for kv in status.values
            if kv.key == "received"
        ):
            break
    statuses = [
        {
            "name": s.name,
            "level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level),
            "values": {kv.key: kv.value for kv in s.values},
        }
        for array in received[-1:]
        for s in array.status
    ]
    print(json.dumps(statuses))
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
