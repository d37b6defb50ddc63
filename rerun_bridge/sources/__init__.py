"""Where messages come from, apart from their decoding (:mod:`rerun_bridge.cdr`): rosbag2 recordings
(:mod:`.bag` over the storage plug-ins of :mod:`.storage`, :mod:`.metadata`, the fast MCAP reader
:mod:`.mcap_chunks`), QoS adapted to live publishers (:mod:`.ros_qos`), and a bridge's network stream
(:mod:`.stream_client`).
"""
