"""``python -m rerun_bridge.demo``: see :mod:`rerun_bridge.demo.run`."""

import sys

from rerun_bridge.demo.run import main

sys.exit(main())
