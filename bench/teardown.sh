#!/usr/bin/env bash
# How soon a removed worktree's teardown starts (issue 26): the time from `git worktree
# remove` or `rm -rf` to the first line its `worktree-post-remove` job writes, in the common
# flows — a live supervisor (a background job running); no supervisor, then a `git switch`;
# no supervisor, then a commit (no commit hook named); no supervisor, then a daft command —
# in hooks-path mode (the git on PATH) and config mode (GIT55, a git 2.54+ binary, if given).
# A flow in which nothing notices within LIMIT seconds says so.
# Usage: DAFT_BIN=path/to/daft [GIT55=path/to/git-2.55/bin/git] [LIMIT=15] bench/teardown.sh WORKDIR
set -euo pipefail
work=${1:?usage: bench/teardown.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
LIMIT=${LIMIT:-15}
rm -rf "$work" && mkdir -p "$work/home"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_STATE_HOME=$work/home/.state
export XDG_DATA_HOME=$work/home/.local/share GIT_CONFIG_NOSYSTEM=1
git config --global user.name bench && git config --global user.email bench@example.com
git config --global init.defaultBranch main && git config --global gc.auto 0

ns() { date +%s%N; }

# config SERVE: a setup, a background server when SERVE is 1, and a teardown that writes the
# time it started.
config() {
	printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: "true"\n'
	[ "$1" = 1 ] && printf '      - name: serve\n        run: sleep 600\n        background: true\n'
	printf '  worktree-post-remove:\n    jobs:\n      - name: drop\n        run: date +%%s%%N > "%s/torn-$DAFT_WORKTREE_ID"\n' "$work"
}

# flow MODE SERVE HOW THEN: one worktree made, removed with HOW (remove|rm), then THEN
# (nothing|switch|commit|daft); prints the milliseconds until its teardown started.
flow() {
	local git=$1 serve=$2 how=$3 then=$4
	local repo=$work/r-$RANDOM
	"$git" init -q "$repo"
	(cd "$repo" && config "$serve" >daft.yml && "$git" add -A && "$git" commit -qm init &&
		PATH=$(dirname "$git"):$PATH "$DAFT_BIN" install >/dev/null && "$DAFT_BIN" trust --yes >/dev/null 2>&1)
	PATH=$(dirname "$git"):$PATH "$git" -C "$repo" worktree add -q ../wt-$$ -b "b$RANDOM" 2>/dev/null
	local wt=$work/wt-$$
	# The setup's supervisor ended (or, with a server, the server running).
	local until=$(($(ns) + 20000000000))
	while [ "$(ns)" -lt "$until" ]; do
		if [ "$serve" = 1 ]; then
			(cd "$wt" && "$DAFT_BIN" hooks log show 2>/dev/null | grep -q 'serve.*running') && break
		else
			pgrep -f "__supervise $repo" >/dev/null || break
		fi
		sleep 0.05
	done
	rm -f "$work"/torn-*
	local t0
	t0=$(ns)
	case $how in
	remove) "$git" -C "$repo" worktree remove --force "$wt" ;;
	rm) rm -rf "$wt" ;;
	esac
	case $then in
	switch) PATH=$(dirname "$git"):$PATH "$git" -C "$repo" switch -q -c "s$RANDOM" 2>/dev/null ;;
	commit) PATH=$(dirname "$git"):$PATH "$git" -C "$repo" commit -q --allow-empty -m x 2>/dev/null ;;
	daft) (cd "$repo" && PATH=$(dirname "$git"):$PATH "$DAFT_BIN" hooks log show >/dev/null 2>&1) ;;
	esac
	local deadline=$(($(ns) + LIMIT * 1000000000))
	while [ "$(ns)" -lt "$deadline" ]; do
		local file
		file=$(ls "$work"/torn-* 2>/dev/null | head -1 || true)
		if [ -n "$file" ] && [ -s "$file" ]; then
			echo "$((($(cat "$file") - t0) / 1000000)) ms"
			return
		fi
		sleep 0.05
	done
	echo "not within ${LIMIT} s"
}

modes=("hooks-path:$(command -v git)")
[ -n "${GIT55:-}" ] && modes+=("config:$GIT55")
echo "## removal → teardown start ($(date -u +%F))"
for mode in "${modes[@]}"; do
	name=${mode%%:*} git=${mode#*:}
	echo
	echo "### $name mode ($("$git" --version))"
	printf '%-58s %s\n' "a live supervisor (a background job), git worktree remove" "$(flow "$git" 1 remove nothing)"
	printf '%-58s %s\n' "a live supervisor (a background job), rm -rf" "$(flow "$git" 1 rm nothing)"
	for how in remove rm; do
		for then in switch commit daft; do
			printf '%-58s %s\n' "no supervisor, $how, then a $then" "$(flow "$git" 0 "$how" "$then")"
		done
	done
done
