"""The in-memory chunk store the embedded viewer reads: immutable chunks (:mod:`.chunk`) in Rerun's column
layout (:mod:`.columns`), indexed per timeline (:mod:`.index`), queried latest-at and by range
(:mod:`.chunk_store`).
"""
