#!/bin/sh
# Builds and installs daft (cargo install), adds the git-daft and git-daft-hooks names beside
# it, and installs daft into a repository: ./install.sh [REPO] (default: the current one).
# Running it again is harmless. DAFT_INSTALL_ONLY=1 stops after the binary (for benchmarks).
set -eu

src=$(cd "$(dirname "$0")" && pwd)
repo=${1:-.}

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

echo "==> daft install $repo"
"$bin_dir/daft" install "$repo"

case ":$PATH:" in
*":$bin_dir:"*) ;;
*) echo "==> note: $bin_dir is not on your PATH; add it so you can type 'daft' (the hooks work without it)" ;;
esac
cat <<EOT
==> next:
    cd $(cd "$repo" && pwd)
    daft init                           # if it has no daft.yml yet: a starter one
    daft trust                          # review daft.yml and trust it
    git worktree add ../feature -b feature
    cd ../feature && daft hooks log show
EOT
