#!/bin/sh
# Run by criu dump at each of its stages (see Dump in jfast/criu/criu.py).
# At pre-dump, criu has probed the kernel and not yet touched the program:
# wait there for jfast's word, `go` or anything else (no dump after all).
[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] || exit 0
read -r word < "$JFAST_DUMP_GATE" || exit 1
[ "$word" = go ]
