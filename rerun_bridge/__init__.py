"""rerun_bridge: every stream of a robot on one typed, time-indexed log."""

import os

__version__ = "0.1.0"

# gRPC (Arrow Flight's transport, for the network stream) writes its own log lines to stderr, before the
# one error the bridge gives naming the address ("WARNING: All log messages before absl::InitializeLog()",
# "E0000 ... Failed to add port"; found by an audit). GRPC_VERBOSITY set by the user still wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
