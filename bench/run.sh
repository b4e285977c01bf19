#!/usr/bin/env bash
# daft's benchmarks. Every figure is printed against a baseline measured in the same run (git
# with no hooks, a shell running the same commands, lefthook), because these machines are
# shared and noisy; the dispatch figures are timed in turns (bench/interleave.py), so a slow
# moment falls on every row alike. Installs what it compares against (hyperfine, GNU time,
# strace, lefthook).
# daft is built as install.sh builds it for users.
#
#   bench/run.sh            dispatch and commit in both install modes, worktree add, many
#                           worktrees, memory, job engine
#   bench/run.sh --quick    the same with fewer runs (a few minutes)
#   bench/run.sh --suite    also git's own hook and worktree tests, with daft vs without
#   bench/run.sh --full     also --suite and the Rust workspace scenario of the user's story
#
# Config mode needs git 2.54+: the prebuilt git 2.55 in ../shared/git-suite (skipped, saying
# so, without it). The bench ends only the processes it started, by the pids daft recorded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
shared=$root/../shared/git-suite
mode=${1:-}
runs=200
[ "$mode" = --quick ] && runs=40

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! [ -x /usr/bin/time ] || ! need strace; then
	echo "==> installing hyperfine, GNU time and strace (Debian packages)"
	apt-get update -qq >/dev/null && apt-get install -y -qq hyperfine time strace >/dev/null
fi

work=$(mktemp -d)
trap 'python3 "$here/reap.py" "$work"; rm -rf "$work"' EXIT
echo "==> installing lefthook (PyPI package, which ships its Go binary)"
pip install --quiet --disable-pip-version-check --target "$work/py" lefthook >/dev/null 2>&1
mkdir -p "$work/lefthook"
ln -s "$(find "$work/py" -path '*lefthook-linux-*/lefthook' -type f | head -1)" "$work/lefthook/lefthook"
LEFTHOOK=$work/lefthook/lefthook

echo "==> building daft as install.sh does (statically linked), and the ordinary way"
(CARGO_TARGET_DIR=$root/target CARGO_INSTALL_ROOT=$work/daft DAFT_INSTALL_ONLY=1 "$root/install.sh" >/dev/null 2>&1)
DAFT=$work/daft/bin/daft
(cd "$root" && cargo build --release --locked -q)
mkdir -p "$work/daft-dyn" && cp "$root/target/release/daft" "$work/daft-dyn/daft"
DAFT_DYN=$work/daft-dyn/daft
GIT_OLD=$(command -v git)
GIT_NEW=
if [ -f "$shared/git-2.55.0-linux-x86_64.tar.xz" ]; then
	tar -xJf "$shared/git-2.55.0-linux-x86_64.tar.xz" -C "$work"
	GIT_NEW=$work/git-2.55.0/bin/git
fi
# The toolchain, the crate cache and git-suite's build of git stay the user's own when HOME
# is isolated below.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export DAFT_GIT_SUITE_CACHE=${DAFT_GIT_SUITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/daft-git-suite}
export HOME=$work/home GIT_CONFIG_GLOBAL=$work/home/.gitconfig GIT_CONFIG_NOSYSTEM=1
export XDG_DATA_HOME=$work/home/.local/share XDG_CONFIG_HOME=$work/home/.config
export XDG_STATE_HOME=$work/home/.local/state
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git config --global advice.detachedHead false
echo "    $("$GIT_OLD" --version)${GIT_NEW:+, $("$GIT_NEW" --version)}; daft $("$DAFT" --version)"

report() { python3 "$here/report.py" "$@"; }

# new_repo NAME GIT [daft MODE | lefthook]: a repository with a branch `other` to switch to,
# daft's own daft.yml (worktree jobs only), and what is named installed.
new_repo() {
	local dir=$work/$1 git=$2
	rm -rf "$dir" && "$git" init -q "$dir"
	(
		cd "$dir"
		export PATH=$(dirname "$git"):$PATH
		echo hello >README
		for i in $(seq 100); do echo "$i" >"file$i"; done # a small real repository, not an empty one
		cp "$root/daft.yml" daft.yml
		# No background maintenance: it would fall on whichever repository is measured later.
		"$git" config gc.auto 0 && "$git" config maintenance.auto false
		"$git" add -A && "$git" commit -qm init && "$git" branch other
		case ${3:-} in
		daft) "${5:-$DAFT}" install --mode "$4" >/dev/null && "${5:-$DAFT}" trust --yes >/dev/null ;;
		true-dir)
			# git's floor for hooks-path: a hook under every name, each /bin/true.
			mkdir -p .git/true-hooks
			for h in applypatch-msg pre-applypatch post-applypatch pre-commit pre-merge-commit prepare-commit-msg commit-msg post-commit pre-rebase post-checkout post-merge pre-push pre-receive update post-receive post-update reference-transaction pre-auto-gc post-rewrite sendemail-validate post-index-change; do
				ln -s /bin/true ".git/true-hooks/$h"
			done
			"$git" config core.hooksPath .git/true-hooks
			;;
		true-one)
			# git's floor for what a repository install must have: post-checkout alone, /bin/true.
			mkdir -p .git/true-hooks && ln -s /bin/true .git/true-hooks/post-checkout
			"$git" config core.hooksPath .git/true-hooks
			;;
		true-cfg)
			# git's floor for config mode: one registered /bin/true for post-checkout.
			"$git" config hook.t.command /bin/true && "$git" config hook.t.event post-checkout
			;;
		lefthook)
			printf 'post-checkout:\n  commands:\n    noop:\n      run: "true"\npre-commit:\n  commands:\n    noop:\n      run: "true"\n' >lefthook.yml
			PATH=$work/lefthook:$PATH "$LEFTHOOK" install >/dev/null
			;;
		esac
	)
}

# switch_bench GIT NAME=REPO… : a no-op `git switch` in each repository, the first the baseline.
switch_bench() {
	local git=$1 out=$2
	shift 2
	local args=()
	for pair in "$@"; do
		local name=${pair%%=*} dir=$work/${pair#*=}
		args+=(--prepare "$git -C $dir switch -q main" -n "$name" "env PATH=$work/lefthook:$PATH $git -C $dir switch -q other")
	done
	python3 "$here/interleave.py" --warmup 20 --runs "$runs" --export-json "$out" "${args[@]}"
}

# commit_bench GIT OUT NAME=REPO… : each commit starts from the same history (the branch is
# put back before every run), so no repository grows while the others wait.
commit_bench() {
	local git=$1 out=$2
	shift 2
	local args=()
	for pair in "$@"; do
		local dir=$work/${pair#*=}
		local base
		base=$("$git" -C "$dir" rev-parse HEAD)
		args+=(--prepare "$git -C $dir update-ref refs/heads/main $base")
		args+=(-n "${pair%%=*}" "env PATH=$work/lefthook:$PATH $git -C $dir commit -q --allow-empty -m x")
	done
	python3 "$here/interleave.py" --warmup 10 --runs "$((runs / 2))" --export-json "$out" "${args[@]}"
}

# processes GIT REPO WHAT: how many hook processes git starts for one commit (WHAT=commit) or
# one switch (WHAT=switch), and how many processes in all (strace), daft among them.
processes() {
	local git=$1 dir=$work/$2 what=$3 cmd
	case $what in
	commit) cmd=(commit -q --allow-empty -m counted) ;;
	switch) cmd=(switch -q other) ;;
	esac
	[ "$what" = switch ] && PATH=$work/lefthook:$PATH "$git" -C "$dir" switch -q main >/dev/null 2>&1
	PATH=$work/lefthook:$PATH GIT_TRACE2_EVENT=$work/trace.json "$git" -C "$dir" "${cmd[@]}" >/dev/null 2>&1
	local hooks execs daft
	hooks=$(grep -c '"event":"child_start".*"child_class":"hook"' "$work/trace.json" || true)
	[ "$what" = switch ] && PATH=$work/lefthook:$PATH "$git" -C "$dir" switch -q main >/dev/null 2>&1
	PATH=$work/lefthook:$PATH strace -f -qq -e trace=execve -o "$work/strace.out" "$git" -C "$dir" "${cmd[@]}" >/dev/null 2>&1
	execs=$(grep -c 'execve(' "$work/strace.out" || true)
	daft=$(grep -c 'execve("[^"]*daft' "$work/strace.out" || true)
	rm -f "$work/trace.json"
	echo "  $2: one git $what starts $hooks hook process(es) ($execs execs in all, $daft of them daft)"
}

echo
echo "## dispatch: a git switch with nothing for daft to do"
new_repo plain-old "$GIT_OLD"
new_repo true-old "$GIT_OLD" true-dir
new_repo trueone-old "$GIT_OLD" true-one
new_repo hp-old "$GIT_OLD" daft hooks-path
new_repo lh-old "$GIT_OLD" lefthook
switch_bench "$GIT_OLD" "$work/switch-old.json" "git $("$GIT_OLD" --version | cut -d' ' -f3), no hooks=plain-old" "/bin/true under every hook name (a shim under every name costs this)=true-old" "/bin/true as post-checkout alone (the floor)=trueone-old" "daft, hooks-path mode (repository install)=hp-old" "lefthook, one trivial command=lh-old"
report hyperfine "$work/switch-old.json" "daft, hooks-path mode (repository install)=2" "daft, hooks-path mode (repository install)@/bin/true as post-checkout alone (the floor)=0.5"
for r in plain-old true-old trueone-old hp-old lh-old; do processes "$GIT_OLD" "$r" switch; done
# A global install (one shim directory for every repository, whose hooks daft cannot list):
# a shim under every name, in a HOME of its own.
ghome=$work/global-home
mkdir -p "$ghome"
genv="HOME=$ghome GIT_CONFIG_GLOBAL=$ghome/.gitconfig XDG_DATA_HOME=$ghome/.local/share XDG_STATE_HOME=$ghome/.local/state"
cp "$HOME/.gitconfig" "$ghome/.gitconfig"
env $genv "$DAFT" install --global --mode hooks-path >/dev/null
new_repo glob-old "$GIT_OLD"
(cd "$work/glob-old" && env $genv "$DAFT" trust --yes >/dev/null)
python3 "$here/interleave.py" --warmup 20 --runs "$runs" --export-json "$work/switch-global.json" \
	--prepare "$GIT_OLD -C $work/plain-old switch -q main" -n "git alone (baseline)" "$GIT_OLD -C $work/plain-old switch -q other" \
	--prepare "$GIT_OLD -C $work/true-old switch -q main" -n "/bin/true under every hook name" "$GIT_OLD -C $work/true-old switch -q other" \
	--prepare "env $genv $GIT_OLD -C $work/glob-old switch -q main" -n "daft, hooks-path mode, global install" "env $genv $GIT_OLD -C $work/glob-old switch -q other"
report hyperfine "$work/switch-global.json" "daft, hooks-path mode, global install@/bin/true under every hook name=0.5"
(export $genv && processes "$GIT_OLD" glob-old switch)
if [ -n "$GIT_NEW" ]; then
	new_repo plain-new "$GIT_NEW"
	new_repo truecfg-new "$GIT_NEW" true-cfg
	new_repo cfg-new "$GIT_NEW" daft config
	new_repo cfgdyn-new "$GIT_NEW" daft config "$DAFT_DYN"
	new_repo hp-new "$GIT_NEW" daft hooks-path
	new_repo lh-new "$GIT_NEW" lefthook
	switch_bench "$GIT_NEW" "$work/switch-new.json" "git 2.55.0, no hooks=plain-new" "a registered /bin/true (the floor)=truecfg-new" "daft, config mode (static build)=cfg-new" "daft, config mode (ordinary build)=cfgdyn-new" "daft, hooks-path mode=hp-new" "lefthook, one trivial command=lh-new"
	report hyperfine "$work/switch-new.json" "daft, config mode (static build)@a registered /bin/true (the floor)=0.5" "daft, config mode (ordinary build)@a registered /bin/true (the floor)=0.5"
	for r in truecfg-new cfg-new cfgdyn-new; do processes "$GIT_NEW" "$r" switch; done
else
	echo "  (config mode skipped: it needs git 2.54+, the prebuilt git 2.55 in ../shared/git-suite)"
fi

echo
echo "## git commit, with a daft.yml that names no commit hook"
commit_bench "$GIT_OLD" "$work/commit-old.json" "git, no hooks=plain-old" "/bin/true under every hook name (the floor)=true-old" "daft, hooks-path mode (repository install)=hp-old" "lefthook, one trivial command=lh-old"
report hyperfine "$work/commit-old.json" "daft, hooks-path mode (repository install)=1"
for r in true-old hp-old lh-old; do processes "$GIT_OLD" "$r" commit; done
if [ -n "$GIT_NEW" ]; then
	commit_bench "$GIT_NEW" "$work/commit-new.json" "git 2.55.0, no hooks=plain-new" "daft, config mode=cfg-new" "daft, hooks-path mode=hp-new" "lefthook, one trivial command=lh-new"
	report hyperfine "$work/commit-new.json" "daft, config mode=0.2"
	processes "$GIT_NEW" cfg-new commit
	processes "$GIT_NEW" hp-new commit
fi

echo
echo "## git worktree add: one synchronous 'true' job and one background 'sleep 30'"
add_bench() {
	local git=$1 out=$2
	shift 2
	local args=()
	for pair in "$@"; do
		local name=${pair%%=*} dir=$work/${pair#*=}
		(cd "$dir" && export PATH=$(dirname "$git"):$work/lefthook:$PATH &&
			printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: quick\n        run: "true"\n      - name: slow\n        run: sleep 30\n        background: true\n' >daft.yml &&
			"$git" add -A && "$git" commit -qm jobs && { ! [ -d .git/daft ] || "$DAFT" trust --yes; }) >/dev/null 2>&1
		local wt=${pair#*=}-x
		args+=(--prepare "$git -C $dir worktree remove --force ../$wt 2>/dev/null; $git -C $dir branch -qD x 2>/dev/null; true")
		args+=(-n "$name" "env PATH=$work/lefthook:$PATH $git -C $dir worktree add -q ../$wt -b x")
	done
	hyperfine --warmup 3 --runs "$((runs / 4))" --export-json "$out" "${args[@]}" >/dev/null
}
add_bench "$GIT_OLD" "$work/add-old.json" "git, no hooks=plain-old" "daft, hooks-path mode=hp-old" "lefthook, one trivial command=lh-old"
report hyperfine "$work/add-old.json" "daft, hooks-path mode=15"
if [ -n "$GIT_NEW" ]; then
	add_bench "$GIT_NEW" "$work/add-new.json" "git 2.55.0, no hooks=plain-new" "daft, config mode=cfg-new" "lefthook, one trivial command=lh-new"
	report hyperfine "$work/add-new.json" "daft, config mode=15"
fi

echo
echo "## removal detection: a no-op git switch with 50 worktrees in the clone, against 1"
# Each worktree was set up by daft (so daft looks for it on every call).
# git itself does more with more worktrees (it checks a branch is not checked out elsewhere),
# so git alone with as many worktrees is measured too.
many() {
	local git=$1 name=$2 count=$3
	shift 3
	new_repo "$name" "$git" "$@"
	(
		cd "$work/$name" && export PATH=$(dirname "$git"):$PATH
		printf 'hooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: "true"\n' >daft.yml
		git add -A && git commit -qm setup && { [ $# = 0 ] || "$DAFT" trust --yes; }
		for i in $(seq "$count"); do git worktree add -q "../$name-wt$i" -b "$name-b$i"; done
	) >/dev/null 2>&1
}
if [ -n "$GIT_NEW" ]; then
	many "$GIT_NEW" one-git 1
	many "$GIT_NEW" fifty-git 50
	many "$GIT_NEW" one-cfg 1 daft config
	many "$GIT_NEW" fifty-cfg 50 daft config
	switch_bench "$GIT_NEW" "$work/many-cfg.json" "git 2.55.0 alone, 1 worktree=one-git" "git 2.55.0 alone, 50 worktrees=fifty-git" "daft config mode, 1 worktree=one-cfg" "daft config mode, 50 worktrees=fifty-cfg"
	report hyperfine "$work/many-cfg.json"
fi
echo "  (hooks-path mode starts daft only for new worktrees and the events trusted configs name:"
echo "   a plain switch does not reach daft's sweep there)"

echo
echo "## memory (peak RSS)"
cd "$work/hp-old"
head=$(git rev-parse HEAD)
hook_kb=$(/usr/bin/time -f %M "$DAFT" hook post-checkout "$head" "$head" 1 2>&1 >/dev/null | tail -1)
true_kb=$(/usr/bin/time -f %M true 2>&1 | tail -1)
git worktree add -q ../m -b m 2>/dev/null
sup=$(python3 -c '
import json, sys
run = json.load(sys.stdin)["runs"][0]
print(next(j["pid"] for j in run["jobs"] if j["name"] == "slow"))' < <(cd ../m && "$DAFT" hooks log show --json))
owner=$(awk '{print $4}' "/proc/$sup/stat")
sup_kb=$(awk '/VmHWM/ {print $2}' "/proc/$owner/status")
report memory "$hook_kb" "$true_kb" "$sup_kb"
git worktree remove --force ../m

echo
echo "## job engine: 100 independent 'true' jobs, and a diamond of 0.3 s jobs"
new_repo engine "$GIT_OLD"
cd "$work/engine"
python3 - >daft.yml <<'PY'
print("hooks:\n  post-merge:\n    parallel: false\n    jobs:")
for i in range(100):
    print(f"      - name: j{i}\n        run: 'true'")
print("  pre-auto-gc:\n    jobs:")
for name, needs in [("a", ""), ("b", "a"), ("c", "a"), ("d", "b, c")]:
    print(f"      - name: {name}\n        run: sleep 0.3" + (f"\n        needs: [{needs}]" if needs else ""))
PY
"$DAFT" trust --yes >/dev/null
hyperfine -N --warmup 2 --runs "$((runs / 10 + 5))" --export-json "$work/engine.json" \
	"sh -c 'i=0; while [ \$i -lt 100 ]; do sh -c true; i=\$((i+1)); done'" \
	"$DAFT hooks run post-merge" >/dev/null
hyperfine -N --warmup 1 --runs "$((runs / 20 + 5))" --export-json "$work/diamond.json" \
	"$DAFT hooks run pre-auto-gc" >/dev/null
medians() { python3 -c 'import json,sys; print(" ".join("%.3f" % (r["median"]*1000) for r in json.load(open(sys.argv[1]))["results"]))' "$1"; }
# shellcheck disable=SC2046
report engine $(medians "$work/engine.json") $(medians "$work/diamond.json")

if [ "$mode" = --suite ] || [ "$mode" = --full ]; then
	echo
	"$here/suite.sh" "$DAFT" "$work"
fi
if [ "$mode" = --full ]; then
	echo
	DAFT_BIN=$DAFT "$here/workspace.sh" "$work"
fi
