"""jfast: a drop-in `java` launcher that restores warm CRIU checkpoints."""

__version__ = "0.1.0"
