#!/bin/sh
# Builds and installs daft (cargo install), adds the git-daft and git-daft-hooks names beside
# it, and installs daft into a repository: ./install.sh [REPO] (default: the repository you
# are in, unless that is daft's own clone). Running it again is harmless.
# DAFT_INSTALL_ONLY=1 stops after the binary (for benchmarks).
set -eu

src=$(cd "$(dirname "$0")" && pwd -P)
repo=${1:-}
if [ -z "$repo" ]; then
	# Run from daft's own clone (README's set-up): the binary only, not a hook install here.
	top=$(git rev-parse --show-toplevel 2>/dev/null || true)
	if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" != "$src" ]; then
		repo=$top
	fi
fi

# git starts daft on every checkout: on Linux with glibc a statically linked daft that the
# loader need not relocate (not position-independent, as Go builds lefthook) starts in half the
# time of the ordinary build. Where that build fails, the ordinary one is used.
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
built=
case $host in
*-linux-gnu)
	echo "==> cargo install --path $src --locked (statically linked for $host)"
	if RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" \
		cargo install --path "$src" --locked --target "$host"; then
		built=1
	else
		echo "==> the static build failed; building the ordinary way"
	fi
	;;
esac
if [ -z "$built" ]; then
	echo "==> cargo install --path $src --locked"
	cargo install --path "$src" --locked
fi

bin_dir=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin
ln -sf daft "$bin_dir/git-daft"
ln -sf daft "$bin_dir/git-daft-hooks"
echo "==> installed $bin_dir/daft (also as git-daft and git-daft-hooks)"
[ "${DAFT_INSTALL_ONLY:-}" = 1 ] && exit 0

# Beside the bin directory, where man looks for it: `man daft`, `git daft --help`.
man_dir=$(dirname "$bin_dir")/share/man/man1
if "$bin_dir/daft" man "$man_dir" >/dev/null; then
	echo "==> man pages in $man_dir (man daft, git daft --help)"
fi

case ":$PATH:" in
*":$bin_dir:"*) ;;
*) echo "==> note: $bin_dir is not on your PATH; add it so you can type 'daft' (the hooks work without it)" ;;
esac

if [ -z "$repo" ]; then
	echo "==> next: in a repository of yours, \`daft install\` (or ./install.sh REPO; \`daft install --global\` for all of them)"
	exit 0
fi
echo "==> daft install $repo (then: cd $(cd "$repo" && pwd))"
# It ends with the next step that fits the repository: write a config, trust it, or add a worktree.
"$bin_dir/daft" install "$repo"
