#!/usr/bin/env bash
# README's recipes for Node, Python and Go, each measured against what a developer does
# without daft, in one run, from the moment `git worktree add` starts:
#   - Node (vite + react + lodash-es, npm): until the dev server has served the page's
#     dependencies — `npm ci` in the new worktree, against daft copying node_modules (Vite's
#     dependency cache, node_modules/.vite, comes with it) and `npm install --prefer-offline`;
#     and what the dev server did with its dependency cache (Vite keys it by the project's
#     path, so a copied one is made again);
#   - Python (uv.lock): until the worktree's own venv imports its packages — `python -m venv` +
#     `pip install`, against `uv sync --frozen`; and what daft says to `copy: [.venv]`;
#   - Go (a module of 120 packages, standard library only): the first edit-build — with an
#     empty GOCACHE (a new machine), with the GOCACHE every worktree shares (no daft), the same
#     with GOFLAGS=-trimpath (go's cache keys hold the package's directory otherwise), and
#     with daft's background `go build ./...` (edit at once, or once `daft hooks wait`
#     returns); with how many packages each build compiled.
# Usage: DAFT_BIN=path/to/daft bench/recipes.sh WORKDIR. Installs Go (Debian), uv (PyPI) and the
# npm packages (npm registry) it needs. Ends only the processes it started, by pid.
set -euo pipefail
work=${1:?usage: bench/recipes.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
# Not for the shims: they take DAFT_BIN from the environment before their own.
export -n DAFT_BIN DAFT_BEFORE
here=$(cd "$(dirname "$0")" && pwd)
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
row() { printf '  %-64s %8s   %s\n' "$1" "${2:+$2 s}" "${3:-}"; }
started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

mkdir -p "$work" && work=$(cd "$work" && pwd)
export PATH=$(dirname "$DAFT_BIN"):$PATH
if ! command -v go >/dev/null; then
	echo "==> installing Go (Debian's golang-go)"
	apt-get install -y -qq golang-go >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq golang-go >/dev/null; }
fi
if ! command -v uv >/dev/null; then
	echo "==> installing uv (PyPI)"
	python3 -m venv "$work/uv-venv" && "$work/uv-venv/bin/pip" install -q --disable-pip-version-check uv
	export PATH=$work/uv-venv/bin:$PATH
fi

# project NAME: a fresh repository with daft installed; the caller writes its files.
project() {
	rm -rf "${work:?}/$1" && mkdir -p "$work/$1" && cd "$work/$1" && git init -q && git config gc.auto 0
}
# add_with CONFIG WT: trusts CONFIG, then times `git worktree add ../WT` (it prints the time).
add_with() {
	printf '%s' "$1" >daft.yml && git add daft.yml && git commit -qm "daft.yml" --allow-empty
	"$DAFT_BIN" trust --yes >/dev/null
	local start
	start=$(now)
	git worktree add -q "../$2" -b "$2" 2>"$work/$2.add.log"
	echo "$start"
}

echo
echo "## Node: vite 8 + react + lodash-es (npm), until the dev server has served the page's dependencies"
project node
cat >package.json <<'EOF'
{ "name": "app", "private": true, "type": "module",
  "scripts": { "dev": "vite" },
  "dependencies": { "react": "^19", "react-dom": "^19", "lodash-es": "^4" },
  "devDependencies": { "vite": "^8" } }
EOF
cat >index.html <<'EOF'
<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.js"></script></body></html>
EOF
mkdir -p src
cat >src/main.js <<'EOF'
import { createElement } from 'react'
import { createRoot } from 'react-dom/client'
import { chunk } from 'lodash-es'
createRoot(document.getElementById('root')).render(createElement('p', null, chunk([1, 2, 3, 4], 2).length))
EOF
printf 'node_modules/\n' >.gitignore
npm install --silent --no-audit --no-fund >/dev/null
"$DAFT_BIN" install >/dev/null
git add -A && git commit -qm app
port=41731
# serve DIR: starts the dev server in DIR, waits until it has served main.js and the first
# optimized dependency it imports, stops it; prints how long that took and what became of
# Vite's dependency cache (node_modules/.vite/deps/_metadata.json).
serve() {
	local dir=$1 log=$work/vite.$RANDOM.log meta=$1/node_modules/.vite/deps/_metadata.json before after
	before=$(sha256sum "$meta" 2>/dev/null | cut -c1-64 || true)
	local start
	start=$(now)
	(cd "$dir" && exec node_modules/.bin/vite --port "$port" --strictPort >"$log" 2>&1) &
	local pid=$!
	started+=("$pid")
	local dep="" deadline=$((SECONDS + 120))
	while [ -z "$dep" ] && [ $SECONDS -lt $deadline ]; do
		dep=$(curl -sf "http://127.0.0.1:$port/src/main.js" 2>/dev/null | grep -o '/node_modules/\.vite/deps/[^"'"'"']*' | head -1 || true)
		[ -n "$dep" ] || sleep 0.05
	done
	until curl -sf -o /dev/null "http://127.0.0.1:$port$dep" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	local took
	took=$(since "$start")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	after=$(sha256sum "$meta" 2>/dev/null | cut -c1-64 || true)
	if [ -z "$before" ]; then
		echo "dev server ${took} s: made its dependency cache"
	elif [ "$before" != "$after" ]; then
		echo "dev server ${took} s: made its dependency cache again ($(grep -o 'Re-optimizing[^.]*' "$log" | head -1))"
	else
		echo "dev server ${took} s: reused its dependency cache"
	fi
}
serve "$work/node" >/dev/null # the main worktree as its developer has it: the cache made
row "the dev server in the main worktree, for comparison" "" "$(serve "$work/node")"
NPM_CI='hooks:
  worktree-post-create:
    jobs:
      - name: npm-ci
        run: npm ci --prefer-offline --no-audit --no-fund
'
RECIPE='hooks:
  worktree-post-create:
    jobs:
      - name: node-modules
        copy: [node_modules]
        only: { files: [package-lock.json] }
      - name: npm-install
        run: npm install --prefer-offline --no-audit --no-fund
        needs: [node-modules]
'
# measured LABEL CONFIG WT CHECK: adds worktree WT under CONFIG and runs CHECK in it; prints
# the row: the time from the add's start until CHECK is done, and what CHECK said.
measured() {
	local start said
	start=$(add_with "$2" "$3")
	said=$("$4" "$work/$3")
	row "$1" "$(since "$start")" "$said"
}
measured "npm ci in the new worktree (baseline)" "$NPM_CI" node-ci serve
measured "daft: copy node_modules, then npm install --prefer-offline" "$RECIPE" node-copy serve
echo "  node_modules: $(du -sk "$work/node/node_modules" | cut -f1) KiB in the main worktree; $(tail -1 "$work/node-copy.add.log" | tr -d '\n' | cut -c1-120)"

echo
echo "## Python: uv.lock (requests, rich, pydantic, pytest), until the worktree's own venv imports them"
project py
cat >pyproject.toml <<'EOF'
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["requests", "rich", "pydantic", "pytest"]
EOF
printf '.venv/\n' >.gitignore
uv lock -q && uv sync -q --frozen
python3 -m venv /tmp/pip-warm-$$ && /tmp/pip-warm-$$/bin/pip install -q --disable-pip-version-check requests rich pydantic pytest && rm -rf /tmp/pip-warm-$$
"$DAFT_BIN" install >/dev/null
git add -A && git commit -qm app
imports() { (cd "$1" && echo "venv: $(.venv/bin/python -c 'import requests, rich, pydantic, pytest, sys; print(sys.prefix)')"); }
PIP='hooks:
  worktree-post-create:
    jobs:
      - name: venv
        run: python3 -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check requests rich pydantic pytest
'
UV='hooks:
  worktree-post-create:
    jobs:
      - name: uv-sync
        run: uv sync --frozen
'
measured "python -m venv + pip install (pip's cache warm; baseline)" "$PIP" py-pip imports
measured "daft: uv sync --frozen (uv's cache warm)" "$UV" py-uv imports
COPY='hooks:
  worktree-post-create:
    jobs:
      - name: venv
        copy: [.venv]
'
add_with "$COPY" py-copy >/dev/null || true
echo "  copy: [.venv] → $(grep -m1 'virtual environment' "$work/py-copy.add.log" | cut -c1-160)…"

echo
echo "## Go: a module of 120 packages (standard library only), the first edit-build after git worktree add"
project go
go mod init example.com/app >/dev/null 2>&1
export GOCACHE=$work/gocache # the bench's own: the user's holds earlier runs' worktrees
rm -rf "$GOCACHE"
for p in $(seq 0 119); do
	mkdir -p "p$p"
	for f in 0 1 2 3; do
		{
			echo "package p$p"
			echo 'import ("fmt"; "sort"; "strings"; "encoding/json")'
			for g in $(seq 0 14); do
				echo "type T${f}_$g struct { A []string \`json:\"a\"\`; B map[string]int }"
				echo "func (t *T${f}_$g) F() string { s := append([]string(nil), t.A...); sort.Strings(s); b, _ := json.Marshal(t); return fmt.Sprintf(\"%s %d\", strings.Join(s, \",\"), len(b)) }"
			done
		} >"p$p/f$f.go"
	done
done
printf 'package main\nimport (\n' >main.go
for p in $(seq 0 119); do printf '\t_ "example.com/app/p%s"\n' "$p" >>main.go; done
printf ')\nfunc main() {}\n' >>main.go
"$DAFT_BIN" install >/dev/null
git add -A && git commit -qm app
go build ./... # the main worktree built: the shared GOCACHE holds it
GOFLAGS=-trimpath go build ./... # and built with -trimpath, the way that does not depend on its path
compiled() { (cd "$1" && "${@:2}" go build -v ./... 2>&1 | grep -c '^example.com/' || true); }
edit_build() {
	echo "// edit" >>"$1/p0/f0.go"
	local start n
	start=$(now)
	n=$(compiled "$@")
	echo "$(since "$start") $n"
}
NONE='hooks:
  worktree-post-create:
    jobs:
      - name: nothing
        run: "true"
'
GOREC='hooks:
  worktree-post-create:
    jobs:
      - name: go-mod-download
        run: go mod download
      - name: go-build
        run: go build ./...
        background: true
        needs: [go-mod-download]
'
add_with "$NONE" go-cold >/dev/null
read -r took n < <(edit_build "$work/go-cold" env GOCACHE="$work/empty-gocache")
row "an empty GOCACHE (a new machine; baseline)" "$took" "$n packages compiled"
add_with "$NONE" go-shared >/dev/null
read -r took n < <(edit_build "$work/go-shared")
row "the GOCACHE every worktree shares, no daft" "$took" "$n packages compiled: go's cache keys hold the package's directory"
add_with "$NONE" go-trim >/dev/null
read -r took n < <(edit_build "$work/go-trim" env GOFLAGS=-trimpath)
row "the shared GOCACHE with GOFLAGS=-trimpath, no daft" "$took" "$n packages compiled"
add_with "$GOREC" go-daft >/dev/null
read -r took n < <(edit_build "$work/go-daft")
row "daft: go mod download + background go build, edit right away" "$took" "$n packages compiled (two builds at once)"
start=$(add_with "$GOREC" go-wait)
(cd "$work/go-wait" && "$DAFT_BIN" hooks wait >/dev/null 2>&1)
ready=$(since "$start")
read -r took n < <(edit_build "$work/go-wait")
row "daft: the same, edit once daft hooks wait returns (${ready} s)" "$took" "$n packages compiled"
"$DAFT_BIN" hooks log show >/dev/null 2>&1 || true
