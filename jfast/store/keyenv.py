"""The environment variables that are part of the key (store/key.py), apart
from it so that a plain run's quick look (store/plainmemo.py) loads none of
the key's modules."""

# Environment variables that shape the JVM as it starts (options, class
# path, locale and encodings, time zone, native library path, the dynamic
# linker) or that programs commonly read before their ready point (HOME,
# USER); a different value is a different key. A restored program sees the
# caller's values of all other variables (README: "A restored run").
KEY_ENV = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
           "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "HOME", "USER",
           "LD_LIBRARY_PATH", "LD_PRELOAD", "GLIBC_TUNABLES", "JFAST_READY")
