#!/usr/bin/env bash
# The warm start on a real project: ripgrep 15.1.0 (../shared/realworld), a ten-crate workspace
# with crates.io dependencies. In one run, side by side:
#   - a cold build of the main worktree, and the same edit-build in it (incremental);
#   - from the moment `git worktree add` starts, until a first edit-build (one line added to
#     crates/core/main.rs right after the add returns, then `cargo build`) has finished, for:
#     no daft (a cold worktree), the seed recipe (fetch + background `cargo build --workspace`),
#     README's warm start (copy target/ + fetch + background warmup) with the daft given as
#     DAFT_BEFORE (an earlier build, if set) and with this one;
#   - for each: how many crates the first edit-build compiled, and the disk the worktree's
#     target/ takes when `git worktree add` returns, against the main one's.
# Usage: DAFT_BIN=path/to/daft [DAFT_BEFORE=path/to/older/daft] bench/realworld.sh WORKDIR
# Skips, saying why, without ../shared/realworld.
set -euo pipefail
work=${1:?usage: bench/realworld.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
# Not for the shims: they take DAFT_BIN from the environment before their own.
export -n DAFT_BIN DAFT_BEFORE
here=$(cd "$(dirname "$0")" && pwd)
tarball=$here/../../shared/realworld/ripgrep-15.1.0.tar.gz
if [ ! -f "$tarball" ]; then
	echo "skipped: the real-project bench needs $tarball, which is not here"
	exit 0
fi
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
ratio() { python3 -c "import sys; print('%.0f%%' % (100 * float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
disk() { du -sk "$1" | cut -f1; }

root=$work/rw
rm -rf "$root" && mkdir -p "$root"
tar -xzf "$tarball" -C "$root"
main=$root/ripgrep-15.1.0
cd "$main"
git init -q && git add -A && git commit -qm import
git config gc.auto 0
echo "==> cargo fetch (crates.io)"
cargo fetch --locked -q
echo "==> cold build of the main worktree"
start=$(now)
cargo build --quiet
cold=$(since "$start")
edit() { echo "// edit $(date +%s%N)" >>"$1/crates/core/main.rs"; }
# first_build DIR: the edit-build, counting the crates it compiled.
first_build() {
	edit "$1"
	(cd "$1" && cargo build 2>&1 | grep -c '^ *Compiling ' || true)
}
edit "$main"
start=$(now)
cargo build --quiet
incremental=$(since "$start")
git checkout -q -- crates/core/main.rs
cargo build --quiet # the main worktree as its developer leaves it: built, clean

FETCH='      - name: fetch-deps
        run: cargo fetch --locked
'
WARMUP='      - name: warmup-build
        run: cargo build --workspace
        background: true
        needs: [fetch-deps]
'
WARM='      - name: seed-target
        copy: [target]
      - name: fetch-deps
        run: cargo fetch --locked
      - name: warmup-build
        run: cargo build --workspace
        background: true
        needs: [fetch-deps, seed-target]
'
# variant NAME DAFT JOBS: prints "<add s> <first edit-build s> <crates compiled> <target KiB>".
variant() {
	local name=$1 bin=$2 jobs=$3 start add built crates
	if [ -n "$bin" ]; then
		printf 'hooks:\n  worktree-post-create:\n    jobs:\n%s' "$jobs" >daft.yml
		git add daft.yml && { git commit -qm "daft.yml for $name" >/dev/null || true; }
		"$bin" install --mode hooks-path >/dev/null
		"$bin" trust --yes >/dev/null
	fi
	start=$(now)
	if [ -n "$bin" ]; then
		git worktree add -q "../$name" -b "$name" 2>/dev/null
	else
		git -c core.hooksPath=/dev/null worktree add -q "../$name" -b "$name"
	fi
	add=$(since "$start")
	local copied=0
	[ -d "$root/$name/target" ] && copied=$(disk "$root/$name/target")
	crates=$(first_build "$root/$name")
	built=$(since "$start")
	if [ -n "$bin" ]; then
		(cd "$root/$name" && "$bin" hooks wait --timeout 20m >/dev/null 2>&1) || true
		"$bin" uninstall >/dev/null
	fi
	echo "$add $built $crates $copied"
}
echo "==> no daft (a cold worktree)"
read -r a_plain b_plain c_plain d_plain <<<"$(variant plain "" "")"
echo "==> the seed recipe: fetch + background warmup"
read -r a_seed b_seed c_seed d_seed <<<"$(variant seed "$DAFT_BIN" "$FETCH$WARMUP")"
before=""
if [ -n "${DAFT_BEFORE:-}" ]; then
	echo "==> README's warm start, with the daft before this change ($DAFT_BEFORE)"
	before=$(variant warm-before "$DAFT_BEFORE" "$WARM")
fi
echo "==> README's warm start"
read -r a_warm b_warm c_warm d_warm <<<"$(variant warm "$DAFT_BIN" "$WARM")"
main_disk=$(disk "$main/target")

echo
echo "ripgrep 15.1.0, $(nproc) cores, $(rustc --version)"
echo "| | git worktree add returns | first edit-build done | vs cold build | crates compiled | target/ disk at the add vs main's |"
echo "|---|---|---|---|---|---|"
echo "| cold build of the main worktree (baseline) | | ${cold} s | 100% | | |"
echo "| the same edit-build in the main worktree | | ${incremental} s | $(ratio "$incremental" "$cold") | 1 | |"
echo "| no daft (cold worktree) | ${a_plain} s | ${b_plain} s | $(ratio "$b_plain" "$cold") | $c_plain | $(ratio "$d_plain" "$main_disk") |"
echo "| seed recipe (fetch + background warmup) | ${a_seed} s | ${b_seed} s | $(ratio "$b_seed" "$cold") | $c_seed | $(ratio "$d_seed" "$main_disk") |"
if [ -n "$before" ]; then
	read -r a b c d <<<"$before"
	echo "| README warm start, before | ${a} s | ${b} s | $(ratio "$b" "$cold") | $c | $(ratio "$d" "$main_disk") |"
fi
echo "| **README warm start** | ${a_warm} s | ${b_warm} s | $(ratio "$b_warm" "$cold") | $c_warm | $(ratio "$d_warm" "$main_disk") |"
echo "(main worktree's target/: $((main_disk / 1024)) MiB)"
