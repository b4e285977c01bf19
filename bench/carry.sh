#!/usr/bin/env bash
# What carried modification times cost (issue 25), side by side with git alone, in
# repositories of N tracked files (~1 KB each, 100 per directory):
#
#   git alone                     `git worktree add` without daft
#   copy: [.env]                  one file carried (what `daft init` writes): no time carried
#   copy: [cache], times off      a small build cache carried, `carry_times: false`
#   copy: [cache]                 the same, with times carried onto every tracked file
#
# Each figure is the median of RUNS adds at a new path, the variants taken in turns; the
# worktree is removed (untimed) after each. What daft adds is the time git spends in its
# post-checkout hook (git's own trace2 events: child_exit of the hook), measured exactly; the
# whole add is also shown, but on this machine writing 20,000 files varies by seconds from one
# add to the next, so it does not resolve daft's share. For the last row, also the copy job's
# own time for carrying (the "[x s]" of its log line) and the system calls of one add.
# Usage: DAFT_BIN=path/to/daft [SIZES="2000 20000 100000"] [RUNS=3] bench/carry.sh WORKDIR
set -euo pipefail
work=${1:?usage: bench/carry.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
SIZES=${SIZES:-2000 20000 100000}
RUNS=${RUNS:-3}
rm -rf "$work" && mkdir -p "$work/home"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_STATE_HOME=$work/home/.state
export XDG_DATA_HOME=$work/home/.local/share GIT_CONFIG_NOSYSTEM=1
git config --global user.name bench && git config --global user.email bench@example.com
git config --global gc.auto 0
git config --global advice.detachedHead false

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# repo DIR N: N tracked files, a .env and a build cache (ignored).
repo() {
	local dir=$1 n=$2
	git init -q "$dir"
	python3 - "$dir" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
line = "fn f() { let x = 1; let y = 2; println!(\"{} {}\", x, y); }\n"
for i in range(n):
    d = os.path.join(root, "src", "d%04d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%03d.rs" % (i % 100)), "w") as f:
        f.write("// %d\n" % i + line * 16)
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write(".env\ncache/\n")
os.makedirs(os.path.join(root, "cache", "deps"), exist_ok=True)
for i in range(50):
    with open(os.path.join(root, "cache", "deps", "lib%02d.rlib" % i), "wb") as f:
        f.write(os.urandom(4096))
with open(os.path.join(root, ".env"), "w") as f:
    f.write("KEY=1\n")
PY
	git -C "$dir" add -A && git -C "$dir" commit -qm init
}

config() {
	case $1 in
	env) printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: seed\n        copy: [.env]\n' ;;
	notimes) printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: seed\n        copy: [cache]\n        carry_times: false\n' ;;
	times) printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: seed\n        copy: [cache]\n' ;;
	esac
}

variants="plain env notimes times"
echo "## carried times: git worktree add, median of $RUNS ($(date -u +%F), $(git --version))"
for n in $SIZES; do
	plain=$work/plain-$n daft=$work/daft-$n
	repo "$plain" "$n"
	git clone -q --no-hardlinks "$plain" "$daft"
	cp "$plain/.env" "$daft/.env" && cp -r "$plain/cache" "$daft/cache"
	(cd "$daft" && "$DAFT_BIN" install >/dev/null)
	for v in env notimes times; do
		(cd "$daft" && git switch -qc "$v" && config "$v" >daft.yml && git add daft.yml &&
			git commit -qm "$v" && "$DAFT_BIN" trust --yes >/dev/null 2>&1 && git switch -q master 2>/dev/null || git switch -q main)
	done
	declare -A times=() hooks=()
	carry=()
	for run in $(seq "$RUNS"); do
		for v in $variants; do
			if [ "$v" = plain ]; then dir=$plain ref=HEAD; else dir=$daft ref=$v; fi
			wt=$work/wt-$n-$v-$run
			rm -f "$work/trace"
			t0=$(ms)
			GIT_TRACE2_EVENT=$work/trace git -C "$dir" worktree add -q --detach "$wt" "$ref" 2>/dev/null
			t1=$(ms)
			times[$v]+="$(((t1 - t0) / 1000)) "
			hook=$(python3 -c 'import json,sys
ids={}; t=0.0
for line in open(sys.argv[1]):
    e=json.loads(line)
    if e.get("event")=="child_start" and e.get("child_class")=="hook": ids[e["child_id"]]=1
    if e.get("event")=="child_exit" and e.get("child_id") in ids: t+=e["t_rel"]
print(int(t*1e6))' "$work/trace")
			hooks[$v]+="$hook "
			if [ "$v" = times ]; then
				carry+=("$(cd "$wt" && "$DAFT_BIN" hooks log show seed | sed -n 's/.*\[\([0-9.]*\) s\].*/\1/p')")
			fi
			git -C "$dir" worktree remove --force "$wt"
			[ "$v" = plain ] || (cd "$dir" && "$DAFT_BIN" hooks log show >/dev/null 2>&1 || true)
		done
	done
	base=$(echo ${times[plain]} | tr ' ' '\n' | median)
	echo
	echo "### $n tracked files"
	printf '%-28s %14s %14s %14s\n' "" "whole add" "over git" "daft's hook"
	for v in $variants; do
		m=$(echo ${times[$v]} | tr ' ' '\n' | median)
		h=$(echo ${hooks[$v]:-0} | tr ' ' '\n' | median)
		case $v in plain) label="git alone" ;; env) label="copy: [.env]" ;; notimes) label="copy: [cache], times off" ;; times) label="copy: [cache]" ;; esac
		printf '%-28s %11.1f ms %+11.1f ms %11.1f ms\n' "$label" "$((m))e-3" "$(((m - base)))e-3" "$((h))e-3"
	done
	h_off=$(echo ${hooks[notimes]} | tr ' ' '\n' | median)
	h_on=$(echo ${hooks[times]} | tr ' ' '\n' | median)
	printf '%-28s %+11.1f ms (daft'"'"'s hook, times carried against times off)\n' "carrying adds" "$(((h_on - h_off)))e-3"
	printf '%-28s %s s (each run: %s)\n' "carrying, its own time" "$(printf '%s\n' "${carry[@]}" | median)" "${carry[*]}"
	if command -v strace >/dev/null; then
		wt=$work/wt-$n-strace
		calls=$(strace -f -c -o /dev/stdout git -C "$daft" worktree add -q --detach "$wt" times 2>/dev/null | awk '/total/ {print $4}')
		git -C "$daft" worktree remove --force "$wt"
		calls_plain=$(strace -f -c -o /dev/stdout git -C "$plain" worktree add -q --detach "$wt-p" HEAD 2>/dev/null | awk '/total/ {print $4}')
		git -C "$plain" worktree remove --force "$wt-p"
		echo "system calls of one add: git alone $calls_plain, copy: [cache] $calls"
	fi
	rm -rf "$plain" "$daft"
done
