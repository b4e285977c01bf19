#!/usr/bin/env bash
# How soon `daft hooks wait` returns once a worktree's dev server answers (issue 29), against
# the baseline an agent script uses without daft: polling the port with a new connection every
# 100 ms. The server is `python3 -m http.server` on the worktree's own port, started 1 s late.
# Each round makes a worktree, then times, from the moment the port first accepts a connection
# (a watcher polling every 5 ms), how long `daft hooks wait` and the polling loop each take to
# notice. Also counted: the processes daft starts for one worktree's setup and service.
# Usage: DAFT_BIN=path/to/daft [ROUNDS=5] bench/services.sh WORKDIR
set -euo pipefail
work=${1:?usage: bench/services.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
ROUNDS=${ROUNDS:-5}
rm -rf "$work" && mkdir -p "$work/home"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_STATE_HOME=$work/home/.state
export XDG_DATA_HOME=$work/home/.local/share GIT_CONFIG_NOSYSTEM=1
git config --global user.name bench && git config --global user.email bench@example.com
git config --global init.defaultBranch main && git config --global gc.auto 0

ns() { date +%s%N; }

repo=$work/repo
git init -q "$repo"
cat >"$repo/daft.yml" <<'EOF'
ports: [web]
hooks:
  worktree-post-create:
    jobs:
      - name: dev-server
        run: sleep 1; exec python3 -m http.server "$DAFT_PORT_WEB" --bind 127.0.0.1
        background: true
        ready: { port: web }
EOF
(cd "$repo" && git add -A && git commit -qm init && "$DAFT_BIN" install >/dev/null &&
	"$DAFT_BIN" trust --yes >/dev/null 2>&1)

# answered PORT: the time (ns) the port first accepts a connection, polled every 5 ms.
answered() {
	python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
        print(time.time_ns())
        break
    except OSError:
        time.sleep(0.005)
EOF
}

# polled PORT: what a script without daft does: try every 100 ms; prints the time (ns) it saw it.
polled() {
	python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
        print(time.time_ns())
        break
    except OSError:
        time.sleep(0.1)
EOF
}

printf '%-6s %12s %12s %10s\n' round "wait (ms)" "poll (ms)" ratio
total_wait=0 total_poll=0
for i in $(seq 1 "$ROUNDS"); do
	wt=$work/wt$i
	git -C "$repo" worktree add -q "$wt" -b "b$i" 2>/dev/null
	port=$(cd "$wt" && "$DAFT_BIN" env --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["DAFT_PORT_WEB"])')
	answered "$port" >"$work/answered" &
	watcher=$!
	polled "$port" >"$work/polled" &
	poller=$!
	(cd "$wt" && "$DAFT_BIN" hooks wait --timeout 60s >/dev/null 2>&1)
	waited=$(ns)
	wait "$watcher" "$poller"
	first=$(cat "$work/answered")
	seen=$(cat "$work/polled")
	w=$(((waited - first) / 1000000))
	p=$(((seen - first) / 1000000))
	total_wait=$((total_wait + w))
	total_poll=$((total_poll + p))
	printf '%-6s %12d %12d %10s\n' "$i" "$w" "$p" "$(python3 -c "print(f'{$w / max($p, 1):.2f}')")"
	(cd "$wt" && "$DAFT_BIN" hooks cancel >/dev/null 2>&1)
done
printf '%-6s %12d %12d %10s\n' mean $((total_wait / ROUNDS)) $((total_poll / ROUNDS)) \
	"$(python3 -c "print(f'{$total_wait / max($total_poll, 1):.2f}')")"

# The processes a service costs: the supervisor and the server (sh exec's python), nothing per
# probe (a port is probed from the supervisor itself).
wt=$work/count
git -C "$repo" worktree add -q "$wt" -b count 2>/dev/null
(cd "$wt" && "$DAFT_BIN" hooks wait --timeout 60s >/dev/null 2>&1)
sup=$(pgrep -f "__supervise $repo/" | head -1 || true)
echo "processes while serving: supervisor ${sup:-none}, its children: $(pgrep -P "${sup:-0}" | wc -l)"
(cd "$wt" && "$DAFT_BIN" hooks cancel >/dev/null 2>&1)
