"""CDR decoding, apart from bag storage: a recording's bytes -> message objects, and batches of same-layout
messages -> numpy columns.

- :mod:`.decoding`: which decoder a topic gets (the recording's own definition, else the distro's), with
  :class:`~.decoding.TypeResolver` the entry point;
- :mod:`.fast`: the generated per-type decoder it prefers (rosbags' as the fallback);
- :mod:`.layout`: byte layouts of messages, for the column path.
"""

from rerun_bridge.cdr.decoding import Decoder, DecoderChoice, TypeResolver

__all__ = ["Decoder", "DecoderChoice", "TypeResolver"]
