#!/usr/bin/env bash
# daft's benchmarks. Every figure is printed against a baseline measured in the same run (git
# with hooks off, a shell running the same commands, lefthook), because these machines are
# shared and noisy. Installs what it compares against (hyperfine, GNU time, lefthook).
#
#   bench/run.sh            dispatch, worktree add, memory, job engine
#   bench/run.sh --quick    the same with fewer runs (a few minutes)
#   bench/run.sh --full     also the Rust workspace scenario of the user's story (slow)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mode=${1:-}
runs=200
[ "$mode" = --quick ] && runs=40

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! [ -x /usr/bin/time ]; then
	echo "==> installing hyperfine and GNU time (Debian packages)"
	apt-get update -qq >/dev/null && apt-get install -y -qq hyperfine time >/dev/null
fi

work=$(mktemp -d)
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ ! -x "$work/lefthook/lefthook" ]; then
	echo "==> installing lefthook (PyPI package, which ships its Go binary)"
	pip install --quiet --disable-pip-version-check --target "$work/py" lefthook >/dev/null 2>&1
	mkdir -p "$work/lefthook"
	ln -s "$(find "$work/py" -path '*lefthook-linux-*/lefthook' -type f | head -1)" "$work/lefthook/lefthook"
fi

echo "==> cargo build --release --locked"
(cd "$root" && cargo build --release --locked --quiet)
export DAFT_BIN=$root/target/release/daft
# The toolchain and crate cache stay the user's own when HOME is isolated below.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$work/home GIT_CONFIG_GLOBAL=$work/home/.gitconfig GIT_CONFIG_NOSYSTEM=1
export XDG_DATA_HOME=$work/home/.local/share XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# hyperfine -> median in ms, via its JSON export.
median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.3f" % (x["median"]*1000) for x in r))' "$1"; }
report() { python3 "$here/report.py" "$@"; }

new_repo() {
	rm -rf "$work/$1" && git init -q "$work/$1" && cd "$work/$1"
	echo hello >README && git add -A && git commit -qm init && git branch other
}

echo
echo "## dispatch: git switch with nothing for daft to do"
new_repo daft
cp "$root/daft.yml" . && git add daft.yml && git commit -qm daft
"$DAFT_BIN" install >/dev/null && "$DAFT_BIN" trust --yes >/dev/null
new_repo lh-repo
printf 'post-checkout:\n  commands:\n    noop:\n      run: "true"\n' >lefthook.yml
PATH=$work/lefthook:$PATH "$work/lefthook/lefthook" install >/dev/null
new_repo shim
mkdir -p hooks && printf '#!/bin/sh\nexec true\n' >hooks/post-checkout && chmod +x hooks/post-checkout
git config core.hooksPath hooks
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/switch.json" \
	--prepare "git -C $work/daft switch -q main" "git -C $work/daft -c core.hooksPath=/dev/null switch -q other" \
	--prepare "git -C $work/shim switch -q main" "git -C $work/shim switch -q other" \
	--prepare "git -C $work/daft switch -q main" "git -C $work/daft switch -q other" \
	--prepare "git -C $work/lh-repo switch -q main" "env PATH=$work/lefthook:$PATH git -C $work/lh-repo switch -q other" >/dev/null
report dispatch $(median "$work/switch.json")

echo
echo "## git worktree add: one synchronous 'true' job and one background 'sleep 30'"
new_repo wt
printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: quick\n        run: "true"\n      - name: slow\n        run: sleep 30\n        background: true\n' >daft.yml
git add -A && git commit -qm daft && "$DAFT_BIN" install >/dev/null && "$DAFT_BIN" trust --yes >/dev/null
cleanup="git -C $work/wt worktree remove --force ../x 2>/dev/null; git -C $work/wt branch -qD x 2>/dev/null; true"
hyperfine --warmup 3 --runs "$((runs / 4))" --export-json "$work/add.json" --prepare "$cleanup" \
	"git -C $work/wt -c core.hooksPath=/dev/null worktree add -q ../x -b x" \
	"git -C $work/wt worktree add -q ../x -b x" \
	"git -C $work/wt -c core.hooksPath=/dev/null worktree add -q ../x -b x 2>&1 | cat" \
	"git -C $work/wt worktree add -q ../x -b x 2>&1 | cat" >/dev/null
report worktree-add $(median "$work/add.json")
pkill -f "sleep 30" 2>/dev/null || true

echo
echo "## memory (peak RSS)"
cd "$work/daft"
head=$(git rev-parse HEAD)
hook_kb=$(/usr/bin/time -f %M "$DAFT_BIN" hook post-checkout "$head" "$head" 1 2>&1 >/dev/null | tail -1)
true_kb=$(/usr/bin/time -f %M true 2>&1 | tail -1)
cd "$work/wt" && git worktree add -q ../m -b m 2>/dev/null
sup=$(pgrep -f "__supervise" | head -1)
sup_kb=$(awk '/VmHWM/ {print $2}' "/proc/$sup/status")
report memory "$hook_kb" "$true_kb" "$sup_kb"
git worktree remove --force ../m

echo
echo "## job engine: 100 independent 'true' jobs, and a diamond of 0.3 s jobs"
new_repo engine
python3 - >daft.yml <<'PY'
print("hooks:\n  post-merge:\n    parallel: false\n    jobs:")
for i in range(100):
    print(f"      - name: j{i}\n        run: 'true'")
print("  pre-auto-gc:\n    jobs:")
for name, needs in [("a", ""), ("b", "a"), ("c", "a"), ("d", "b, c")]:
    print(f"      - name: {name}\n        run: sleep 0.3" + (f"\n        needs: [{needs}]" if needs else ""))
PY
"$DAFT_BIN" trust --yes >/dev/null
hyperfine -N --warmup 2 --runs "$((runs / 10 + 5))" --export-json "$work/engine.json" \
	"sh -c 'i=0; while [ \$i -lt 100 ]; do sh -c true; i=\$((i+1)); done'" \
	"$DAFT_BIN hooks run post-merge" >/dev/null
hyperfine -N --warmup 1 --runs "$((runs / 20 + 5))" --export-json "$work/diamond.json" \
	"$DAFT_BIN hooks run pre-auto-gc" >/dev/null
report engine $(median "$work/engine.json") $(median "$work/diamond.json")

if [ "$mode" = --full ]; then
	echo
	"$here/workspace.sh" "$work"
fi
