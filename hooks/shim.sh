#!/bin/sh
# daft shim: written by `daft install` (hooks-path mode) from daft's hooks/shim.sh, once per git
# hook name, into the directory core.hooksPath points at. When this clone's trusted daft.yml has
# jobs for the hook (or a worktree or clone was just made), it hands the call to `daft hook`,
# which runs the hooks that were there before daft first. Otherwise it runs those hooks itself,
# exactly as git would have, without starting daft.
DAFT_BIN=${DAFT_BIN:-@BIN@}
DAFT_PREVIOUS_HOOKS=@PREVIOUS@
DAFT_ADOPTED_HOOKS=@ADOPTED@
DAFT_PARTIAL=@PARTIAL@
hook=${0##*/}
# Another tool may have renamed this file (prek: .legacy, lefthook: .old) and call it so.
case $hook in *.legacy | *.old) hook=${hook%.*} ;; esac
# This clone's git common dir, found without starting a process.
gd=${GIT_DIR:-.git}
if [ -f "$gd" ] && read -r gd <"$gd"; then gd=${gd#gitdir: }; fi
common=$gd
if [ -f "$gd/commondir" ] && read -r common <"$gd/commondir"; then
	case $common in /*) ;; *) common=$gd/$common ;; esac
	case $common in */worktrees/*/../..) common=${common%/worktrees/*/../..} ;; esac
fi
# Named as git names it ($0 of the hook): hooks/x in a bare repository, not ./hooks/x.
prev=${DAFT_PREVIOUS_HOOKS:-${common#./}/hooks}
[ "$prev" = ./hooks ] && prev=hooks
daft=
[ -e "$common/daft/events/$hook" ] && daft=1
[ "$hook" = post-checkout ] && case $1 in *[!0]*) ;; *) daft=1 ;; esac
# Two hooks to run, or git's hint to give: daft does those too.
[ -x "$prev/$hook" ] && [ -x "$DAFT_ADOPTED_HOOKS/$hook" ] && daft=1
[ -e "$prev/$hook" ] && ! [ -x "$prev/$hook" ] && daft=1
# Only the hook names with something behind them have a shim here: when the hooks directory
# before daft (or the adopted one) changed since daft last looked, daft brings them in line.
if [ -n "$DAFT_PARTIAL" ] && [ "$hook" = post-checkout ]; then
	s=$common/daft/shims-synced
	{ [ "$prev" -nt "$s" ] || [ "$DAFT_ADOPTED_HOOKS" -nt "$s" ]; } && daft=1
fi
# A worktree of this clone that is gone from where daft saw it: daft tears it down.
if [ -z "$daft" ] && [ -f "$common/daft/worktrees/paths" ]; then
	while IFS= read -r p; do [ -e "$p/.git" ] || { daft=1; break; }; done <"$common/daft/worktrees/paths"
fi
if [ -n "$daft" ]; then
	if [ -x "$DAFT_BIN" ]; then
		export DAFT_PREVIOUS_HOOKS DAFT_ADOPTED_HOOKS
		exec "$DAFT_BIN" hook "$hook" "$@"
	fi
	echo "daft: $DAFT_BIN is gone, so daft's jobs did not run; reinstall daft, or take it out of git: git config --unset core.hooksPath" >&2
fi
if [ -x "$prev/$hook" ]; then
	[ -x "$DAFT_ADOPTED_HOOKS/$hook" ] || exec "$prev/$hook" "$@"
	"$prev/$hook" "$@" || exit
fi
[ -x "$DAFT_ADOPTED_HOOKS/$hook" ] && exec "$DAFT_ADOPTED_HOOKS/$hook" "$@"
exit 0
