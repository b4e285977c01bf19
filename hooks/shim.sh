#!/bin/sh
# daft shim. `daft install` copies this file into its hooks directory under each git hook name
# and points core.hooksPath there; git runs it, and it hands the call to `daft hook`, which runs
# the hook that was in place before daft first. daft.env (written by install) sets DAFT_BIN and
# DAFT_PREVIOUS_HOOKS.
hook=${0##*/}
. "${0%/*}/daft.env"
if command -v "$DAFT_BIN" >/dev/null 2>&1; then
	exec "$DAFT_BIN" hook "$hook" "$@"
fi
# daft itself is gone: keep the previous hook working, and say how to mend it.
echo "daft: $DAFT_BIN not found; run ./install.sh again or 'git config --unset core.hooksPath'" >&2
prev=${DAFT_PREVIOUS_HOOKS:-$(git rev-parse --git-common-dir)/hooks}
if [ -x "$prev/$hook" ]; then
	exec "$prev/$hook" "$@"
fi
exit 0
