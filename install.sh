#!/bin/sh
# Builds and installs daft (cargo install), adds the git-daft and git-daft-hooks names beside
# it, and installs daft into a repository: ./install.sh [REPO] (default: the current one).
# Running it again is harmless.
set -eu

src=$(cd "$(dirname "$0")" && pwd)
repo=${1:-.}

echo "==> cargo install --path $src --locked"
cargo install --path "$src" --locked

bin_dir=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin
ln -sf daft "$bin_dir/git-daft"
ln -sf daft "$bin_dir/git-daft-hooks"
echo "==> installed $bin_dir/daft (also as git-daft and git-daft-hooks)"

echo "==> daft install $repo"
"$bin_dir/daft" install "$repo"

case ":$PATH:" in
*":$bin_dir:"*) ;;
*) echo "==> note: $bin_dir is not on your PATH; add it so you can type 'daft' (the hooks work without it)" ;;
esac
cat <<EOT
==> next:
    cd $repo
    daft trust                          # review daft.yml and trust it
    git worktree add ../feature -b feature
    cd ../feature && daft hooks log show
EOT
