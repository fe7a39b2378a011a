#!/bin/sh
# Run by criu restore at each of its stages (see jfast/criu/kdat.py). By
# pre-restore, criu has read its kernel facts from the tmpfs jfast laid over
# /run: keep a copy for the next restore if there was none, then let the
# program see the host's /run.
[ "$CRTOOLS_SCRIPT_ACTION" = pre-restore ] || exit 0
PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 077
if [ -n "$JFAST_KDAT" ] && [ ! -e "$JFAST_KDAT" ] && [ -e /run/criu.kdat ]; then
    cp /run/criu.kdat "$JFAST_KDAT.$$" && mv -f "$JFAST_KDAT.$$" "$JFAST_KDAT"
fi
exec umount -l /run
