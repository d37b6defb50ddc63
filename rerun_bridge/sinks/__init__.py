"""Where rows and messages go: the .rrd writer (:mod:`.rrd`, batching in :mod:`.batcher`), the network
stream (:mod:`.stream`), the viewer's store (:mod:`.store`), the raw MCAP re-recording (:mod:`.mcap` with its
own writer), and rotation of long recordings (:mod:`.rotation`). Row sinks follow
:class:`rerun_bridge.pipeline.RowSink`.
"""
