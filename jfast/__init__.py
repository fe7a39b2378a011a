"""jfast: a drop-in `java` launcher that restores warm CRIU checkpoints."""

import time

__version__ = "0.1.0"
# When jfast's own code began to load: the report times imports from here.
STARTED = time.monotonic()
