#!/usr/bin/env bash
# A worktree add in a clone with a long history: N worktrees made and removed before (an agent
# makes hundreds), against git alone, in one run, timed in turns (interleave.py). Each measured
# add is of a 100-file repository whose daft.yml has one synchronous `true` job; before each,
# the previous worktree is deleted by hand and a daft call (untimed) tears it down. Prints
# medians, the figure over git alone, and the system calls of one add (strace, if present),
# which do not drift with the machine's load.
# Usage: DAFT_BIN=path/to/daft [DAFT_BEFORE=path/to/older/daft] [N=200] bench/history.sh WORKDIR
set -euo pipefail
work=${1:?usage: bench/history.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
export -n DAFT_BIN DAFT_BEFORE
N=${N:-200}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/home"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_STATE_HOME=$work/home/.state GIT_CONFIG_NOSYSTEM=1
git config --global user.name bench && git config --global user.email bench@example.com
git config --global gc.auto 0

# clone NAME [DAFT]: a repository, daft installed and trusted when DAFT is given.
clone() {
	local dir=$work/$1
	git init -q "$dir"
	(cd "$dir" && for i in $(seq 100); do echo "$i" >"f$i"; done &&
		printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: "true"\n' >daft.yml &&
		git add -A && git commit -qm init &&
		if [ -n "${2:-}" ]; then "$2" install >/dev/null && "$2" trust --yes >/dev/null; fi)
}
# prepare.sh NAME [DAFT]: deletes the previous add's worktree by hand, lets daft tear it down.
cat >"$work/prepare.sh" <<'SH'
#!/bin/sh
dir=$1
rm -rf "$dir-x" && git -C "$dir" worktree prune && git -C "$dir" branch -qD x 2>/dev/null
if [ -n "$2" ]; then (cd "$dir" && "$2" hooks log show >/dev/null 2>&1); fi
true
SH
chmod +x "$work/prepare.sh"

clone plain
cases=(now "$DAFT_BIN")
[ -n "${DAFT_BEFORE:-}" ] && cases+=(before "$DAFT_BEFORE")
for ((c = 0; c < ${#cases[@]}; c += 2)); do
	name=${cases[c]} daft=${cases[c + 1]}
	clone "$name" "$daft"
	echo "==> $name: $N worktrees made and removed"
	for i in $(seq "$N"); do
		git -C "$work/$name" worktree add -q "../$name-h$i" -b "h$i" 2>/dev/null
		rm -rf "$work/$name-h$i"
		(cd "$work/$name" && "$daft" hooks log show >/dev/null 2>&1)
	done
	echo "    kept: $(ls "$work/$name/.git/daft/removed" | wc -l) removed worktrees"
done

args=(--prepare "$work/prepare.sh $work/plain" -n "git alone" "git -C $work/plain -c core.hooksPath=/dev/null worktree add -q ../plain-x -b x")
for ((c = 0; c < ${#cases[@]}; c += 2)); do
	name=${cases[c]} daft=${cases[c + 1]}
	args+=(--prepare "$work/prepare.sh $work/$name $daft" -n "daft ($name), $N removed before" "git -C $work/$name worktree add -q ../$name-x -b x")
done
python3 "$here/interleave.py" --warmup 2 --runs "${RUNS:-30}" --export-json "$work/history.json" "${args[@]}" >/dev/null
python3 "$here/report.py" hyperfine "$work/history.json"
if command -v strace >/dev/null; then
	echo "system calls of one add (strace -f -c):"
	for dir in plain "${cases[@]::1}" ${DAFT_BEFORE:+before}; do
		daft=$DAFT_BIN
		[ "$dir" = before ] && daft=$DAFT_BEFORE
		[ "$dir" = plain ] && daft=
		"$work/prepare.sh" "$work/$dir" $daft
		hooks=()
		[ "$dir" = plain ] && hooks=(-c core.hooksPath=/dev/null)
		strace -f -c -o "$work/strace-$dir.txt" git -C "$work/$dir" "${hooks[@]}" worktree add -q "../$dir-x" -b x 2>/dev/null
		printf '  %-10s %s\n' "$dir" "$(awk '/total/ {print $4}' "$work/strace-$dir.txt")"
	done
fi
