#!/usr/bin/env bash
# git's own hook and worktree tests (../shared/git-suite's scripts), timed with daft installed
# globally and without it, in one run: what daft costs the commands git users run.
# Usage: bench/suite.sh DAFT WORKDIR (bench/run.sh --suite calls it).
set -euo pipefail
daft=${1:?usage: bench/suite.sh DAFT WORKDIR}
work=${2:?usage: bench/suite.sh DAFT WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
shared=$here/../../shared/git-suite
if [ ! -x "$shared/run" ]; then
	echo "## git's own tests: skipped (they need ../shared/git-suite)"
	exit 0
fi
now() { date +%s.%N; }

for version in 2.47.3 2.55.0; do
	echo "## git $version's hook and worktree tests, with daft vs without"
	# Builds git once (cached) and prepares its test library for daft.
	"$shared/run" --git "$version" --daft "$daft" --only t1350 >/dev/null
	tree=${DAFT_GIT_SUITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/daft-git-suite}/git-$version/t
	without=0 with=0
	for s in $(grep -v '^#' "$shared/scripts.txt"); do
		[ -f "$tree/$s" ] || continue
		t0=$(now)
		(cd "$tree" && ./"$s" >/dev/null 2>&1 </dev/null) || true
		t1=$(now)
		(cd "$tree" && DAFTSUITE_DAFT=$daft DAFTSUITE_ROOT=$work/suite ./"$s" >/dev/null 2>&1 </dev/null) || true
		t2=$(now)
		without=$(python3 -c "print($without + $t1 - $t0)")
		with=$(python3 -c "print($with + $t2 - $t1)")
	done
	python3 "$here/report.py" suite "$without" "$with"
done
