#!/bin/sh
# criu dump's action script (see Dump in jfast/criu.py). jfast starts criu
# ahead of the ready point, so that criu learns the kernel's facts while the
# program collects garbage; at pre-dump, before criu touches the program,
# wait for jfast's word: go, or anything else to give up.
[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] || exit 0
read -r word <"$JFAST_DUMP_GATE" && [ "$word" = go ]
