#!/usr/bin/env bash
# The user's story on a real workspace: generates `myapp` (server: an HTTP API binary, worker:
# a background job binary, shared: types both import) with real crates.io dependencies, then
# measures in one run, from the moment `git worktree add` starts:
#   - how long until `git worktree add` returns,
#   - how long until a first edit-build has finished (one line of server edited right after
#     the add returns, then `cargo build --workspace`),
#   - the CPU seconds the setup spent (everything it started, background jobs included,
#     measured with a cpuacct cgroup),
# for: no daft (cold), daft's warmup (fetch + background build), daft's warm start (copy the
# main worktree's target/ + fetch + background build), and worktrunk's `wt step
# copy-ignored`. Then the copy itself against `cp -a`, copy-on-write against a full copy on a
# loop-mounted XFS, and sccache shared through Redis by two clones.
# Usage: bench/workspace.sh WORKDIR (bench/run.sh --full calls it). Needs root for cgroups
# and loop mounts (those parts say so and are skipped without it).
set -euo pipefail
work=${1:?usage: bench/workspace.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
ws=$work/ws/myapp
here=$(cd "$(dirname "$0")" && pwd)

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
report() { python3 "$here/report.py" "$@"; }

# A cpuacct cgroup for one setup: everything started in it stays in it, detached or not.
cgroup=/sys/fs/cgroup/cpuacct/daft-bench-$$
cg_start() { rmdir "$cgroup" 2>/dev/null || true; mkdir "$cgroup" 2>/dev/null || return 0; }
cg_cpu() { [ -f "$cgroup/cpuacct.usage" ] && python3 -c "print('%.1f' % (int(open('$cgroup/cpuacct.usage').read()) / 1e9))" || echo "?"; }
in_cg() { if [ -d "$cgroup" ]; then sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cgroup" "$@"; else "$@"; fi; }
trap 'rmdir "$cgroup" 2>/dev/null || true' EXIT

config() { # $1: the jobs
	printf 'hooks:\n  worktree-post-create:\n    jobs:\n%s' "$1" >daft.yml
	git add daft.yml && git commit -qm "daft.yml" && "$DAFT_BIN" trust --yes >/dev/null
}
FETCH='      - name: fetch-deps
        run: cargo fetch --locked
'
WARMUP='      - name: warmup-build
        run: cargo build --workspace
        background: true
        needs: [fetch-deps]
'
WARM_START='      - name: seed-target
        copy: [target]
      - name: fetch-deps
        run: cargo fetch --locked
      - name: warmup-build
        run: cargo build --workspace
        background: true
        needs: [fetch-deps, seed-target]
'

# variant NAME KIND: a new worktree; prints "<add s> <first edit-build s> <setup cpu s>".
variant() {
	local name=$1 kind=$2 start add built
	cg_start
	start=$(now)
	case $kind in
	plain) git -C "$ws" -c core.hooksPath=/dev/null worktree add -q "../$name" -b "$name" 2>/dev/null ;;
	daft) in_cg git -C "$ws" worktree add -q "../$name" -b "$name" 2>/dev/null ;;
	worktrunk)
		git -C "$ws" -c core.hooksPath=/dev/null worktree add -q "../$name" -b "$name" 2>/dev/null
		(cd "$work/ws/$name" && in_cg "$WT" step copy-ignored >/dev/null 2>&1)
		;;
	esac
	add=$(since "$start")
	sed -i 's/"ok"/"ok!"/' "$work/ws/$name/server/src/main.rs"
	(cd "$work/ws/$name" && cargo build --workspace --quiet 2>/dev/null)
	built=$(since "$start")
	# The setup's CPU, once it has all ended.
	if [ "$kind" = daft ]; then
		(cd "$work/ws/$name" && "$DAFT_BIN" hooks wait --timeout 30m >/dev/null 2>&1) || true
	fi
	local cpu=0
	[ "$kind" = plain ] || cpu=$(cg_cpu)
	echo "$add $built $cpu"
	rmdir "$cgroup" 2>/dev/null || true
}

echo "## the user's story: a three-crate workspace (axum + async-graphql server, sqlx worker, shared types)"
generate() {
	rm -rf "$work/ws" && mkdir -p "$ws" && cd "$ws"
	cat >Cargo.toml <<'TOML'
[workspace]
members = ["server", "worker", "shared"]
resolver = "2"
TOML
	mkdir -p server/src worker/src shared/src
	cat >shared/Cargo.toml <<'TOML'
[package]
name = "shared"
version = "0.1.0"
edition = "2021"

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
uuid = { version = "1", features = ["v4", "serde"] }
chrono = { version = "0.4", features = ["serde"] }
TOML
	cat >shared/src/lib.rs <<'RS'
use serde::{Deserialize, Serialize};

/// A unit of work, created by the server and run by the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: uuid::Uuid,
    pub kind: String,
    pub created: chrono::DateTime<chrono::Utc>,
}

impl Job {
    pub fn new(kind: &str) -> Self {
        Self { id: uuid::Uuid::new_v4(), kind: kind.to_owned(), created: chrono::Utc::now() }
    }
}
RS
	cat >server/Cargo.toml <<'TOML'
[package]
name = "server"
version = "0.1.0"
edition = "2021"

[dependencies]
shared = { path = "../shared" }
axum = "0.8"
tokio = { version = "1", features = ["full"] }
tower-http = { version = "0.6", features = ["trace", "cors", "compression-gzip"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tracing = "0.1"
tracing-subscriber = { version = "0.3", features = ["env-filter", "json"] }
async-graphql = "7"
TOML
	cat >server/src/main.rs <<'RS'
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use axum::{routing::{get, post}, Json, Router};
use shared::Job;

struct Query;

#[Object]
impl Query {
    async fn job(&self, kind: String) -> String {
        serde_json::to_string(&Job::new(&kind)).unwrap()
    }
}

async fn graphql(Json(query): Json<String>) -> Json<serde_json::Value> {
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    Json(serde_json::to_value(schema.execute(query).await).unwrap())
}

async fn health() -> &'static str {
    "ok"
}

async fn create(Json(kind): Json<String>) -> Json<Job> {
    Json(Job::new(&kind))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().json().init();
    let app = Router::new()
        .route("/health", get(health))
        .route("/jobs", post(create))
        .route("/graphql", post(graphql))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::cors::CorsLayer::permissive())
        .layer(tower_http::compression::CompressionLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
RS
	cat >worker/Cargo.toml <<'TOML'
[package]
name = "worker"
version = "0.1.0"
edition = "2021"

[dependencies]
shared = { path = "../shared" }
tokio = { version = "1", features = ["full"] }
serde_json = "1"
tracing = "0.1"
tracing-subscriber = { version = "0.3", features = ["env-filter"] }
clap = { version = "4", features = ["derive"] }
sqlx = { version = "0.8", default-features = false, features = ["runtime-tokio", "sqlite", "macros"] }
regex = "1"
TOML
	cat >worker/src/main.rs <<'RS'
use clap::Parser;

/// Runs jobs.
#[derive(Parser)]
struct Args {
    /// How many jobs to run
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().init();
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    sqlx::query("CREATE TABLE jobs (id TEXT PRIMARY KEY, body TEXT)").execute(&pool).await.unwrap();
    let kind = regex::Regex::new(r"^[a-z]+$").unwrap();
    for _ in 0..Args::parse().jobs {
        let job = shared::Job::new("warm");
        assert!(kind.is_match(&job.kind));
        let body = serde_json::to_string(&job).unwrap();
        sqlx::query("INSERT INTO jobs VALUES (?, ?)").bind(job.id.to_string()).bind(&body).execute(&pool).await.unwrap();
        tracing::info!(?job, "working");
        println!("{body}");
    }
}
RS
	printf 'target\n' >.gitignore
	cargo generate-lockfile --quiet
	git init -q && git add -A && git commit -qm "myapp"
}

generate
cd "$ws"
echo "  priming the crate download cache (cargo fetch) so every variant starts alike"
cargo fetch --locked --quiet
echo "  building the main worktree once (the warm start copies its target/)"
cg_start
start=$(now)
in_cg cargo build --workspace --quiet 2>/dev/null
cold_main=$(since "$start")
cold_cpu=$(cg_cpu)
rmdir "$cgroup" 2>/dev/null || true
echo "  (a cold build of the main worktree: ${cold_main}s, ${cold_cpu} CPU s; target/ is $(du -sh target | cut -f1))"
"$DAFT_BIN" install --mode hooks-path >/dev/null
if ! command -v wt >/dev/null; then
	# The newest release may want a newer rustc than this machine's: then the newest that
	# this rustc builds, as cargo names it.
	echo "  installing worktrunk from crates.io"
	if ! cargo install --quiet --locked worktrunk >/dev/null 2>"$work/worktrunk.err"; then
		version=$(sed -n 's/^`worktrunk \([0-9.]*\)` supports rustc.*/\1/p' "$work/worktrunk.err")
		if [ -z "$version" ] || ! cargo install --quiet --locked "worktrunk@$version" >/dev/null 2>>"$work/worktrunk.err"; then
			echo "  worktrunk could not be installed (its row is left out): $(grep -m1 '^error' "$work/worktrunk.err")"
		fi
	fi
fi
WT=$(command -v wt || true)
[ -z "$WT" ] || echo "  worktrunk: $("$WT" --version 2>/dev/null | head -1)"

read -r p_add p_built _ < <(variant cold plain)
config "$FETCH$WARMUP"
read -r w_add w_built w_cpu < <(variant warmup daft)
git rm -q daft.yml && git commit -qm "no daft.yml"
config "$WARM_START"
read -r c_add c_built c_cpu < <(variant warm daft)
git rm -q daft.yml && git commit -qm "no daft.yml"
if [ -n "$WT" ]; then
	read -r t_add t_built t_cpu < <(variant trunk worktrunk)
fi
python3 - "$p_add" "$p_built" "$w_add" "$w_built" "$w_cpu" "$c_add" "$c_built" "$c_cpu" "${t_add:-}" "${t_built:-}" "${t_cpu:-}" "$cold_cpu" <<'PY'
import sys
a = sys.argv[1:]
cold = float(a[11]) if a[11] != "?" else float("nan")
rows = [("no daft (cold)", a[0], a[1], "0"), ("daft warmup", a[2], a[3], a[4]),
        ("daft copy: [target] + warmup", a[5], a[6], a[7])]
if a[8]:
    rows.append(("worktrunk wt step copy-ignored", a[8], a[9], a[10]))
print("  | variant | git worktree add returns | first edit-build done | setup CPU |")
print("  |---|---|---|---|")
base = float(rows[0][2])
for name, add, built, cpu in rows:
    cpu_text = f"{float(cpu):.1f} s ({float(cpu) / cold * 100:.0f}% of a cold build's CPU)" if cpu not in ("?", "0") else ("0" if cpu == "0" else "?")
    print(f"  | {name} | {float(add) * 1000:.0f} ms | {float(built):.1f} s ({base / float(built):.1f}x) | {cpu_text} |")
PY
echo "  targets: warm start's first edit-build <= 15 s, its setup CPU <= 15% of a cold build's (${cold_cpu} CPU s)"

echo
echo "## copying target/ ($(du -sh target | cut -f1)): daft's copy against cp -a, on the same file system"
copy_dir=$work/copies
rm -rf "$copy_dir" && mkdir -p "$copy_dir/daft" "$copy_dir/cp"
sync
start=$(now); cp -a "$ws/target" "$copy_dir/cp/target"; cp_s=$(since "$start")
start=$(now); "$DAFT_BIN" __copy --from "$ws" --to "$copy_dir/daft" -- target >/dev/null; daft_s=$(since "$start")
python3 -c "import sys; c,d=map(float,sys.argv[1:]); print('  cp -a %.2fs, daft %.2fs (%.2fx of cp -a; target <= 1.5x)' % (c, d, d/c))" "$cp_s" "$daft_s"
rm -rf "$copy_dir"

if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && { command -v mkfs.xfs >/dev/null || apt-get install -y -qq xfsprogs >/dev/null 2>&1; }; then
	echo
	echo "## copy-on-write: the same copy inside a loop-mounted XFS (reflink=1)"
	img=$work/xfs.img mnt=$work/xfs
	truncate -s 6G "$img" && mkfs.xfs -q -m reflink=1 "$img" && mkdir -p "$mnt"
	if mount -o loop "$img" "$mnt" 2>/dev/null; then
		mkdir -p "$mnt/src" "$mnt/daft" "$mnt/cp"
		cp -a "$ws/target" "$mnt/src/target"
		sync
		start=$(now); cp -a --reflink=never "$mnt/src/target" "$mnt/cp/target"; full_s=$(since "$start")
		start=$(now); "$DAFT_BIN" __copy --from "$mnt/src" --to "$mnt/daft" -- target | tail -1; cow_s=$(since "$start")
		python3 -c "import sys; f,c=map(float,sys.argv[1:]); print('  full copy (cp -a --reflink=never) %.2fs, daft with clones %.2fs (%.0fx faster)' % (f, c, f/max(c, 0.001)))" "$full_s" "$cow_s"
		umount "$mnt"
	else
		echo "  skipped: this machine does not allow a loop mount"
	fi
	rm -f "$img"
fi

echo
echo "## sccache: the compile work shared between worktrees and clones"
if ! command -v sccache >/dev/null || ! sccache --help 2>/dev/null | grep -q .; then
	echo "  installing sccache from crates.io (with its Redis backend)"
	cargo install --quiet --locked sccache >/dev/null 2>&1 || apt-get install -y -qq sccache >/dev/null
fi
warm_with() { # $1: name, rest: env lines
	local name=$1
	shift
	git -C "$ws" rm -q --ignore-unmatch daft.yml && git -C "$ws" commit -qm "no daft.yml" --allow-empty
	(cd "$ws" && config "$FETCH$WARMUP        env:
$(printf '          %s\n' "$@")")
	local start
	start=$(now)
	git -C "$ws" worktree add -q "../$name" -b "$name" 2>/dev/null
	(cd "$work/ws/$name" && "$DAFT_BIN" hooks wait --timeout 30m >/dev/null 2>&1) || true
	since "$start"
}
a=$(warm_with sccache-a "RUSTC_WRAPPER: sccache" "SCCACHE_DIR: $work/sccache")
b=$(warm_with sccache-b "RUSTC_WRAPPER: sccache" "SCCACHE_DIR: $work/sccache")
SCCACHE_DIR=$work/sccache sccache --stop-server >/dev/null 2>&1 || true
python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('  local SCCACHE_DIR: first worktree warmup %.1fs, second %.1fs (%.2fx)' % (a, b, b/a))" "$a" "$b"

if command -v redis-server >/dev/null || apt-get install -y -qq redis-server >/dev/null 2>&1; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --port "$port" --save "" --appendonly no --daemonize no >/dev/null &
	redis_pid=$!
	trap 'kill "$redis_pid" 2>/dev/null; rmdir "$cgroup" 2>/dev/null || true' EXIT
	sleep 1
	endpoint="redis://127.0.0.1:$port"
	# Two clones, as on two machines: each its own sccache server, one shared Redis.
	clone_warmup() {
		local clone=$work/ws/$1
		rm -rf "$clone" && git clone -q "$ws" "$clone"
		(cd "$clone" && "$DAFT_BIN" install --mode hooks-path >/dev/null && "$DAFT_BIN" trust --yes >/dev/null)
		SCCACHE_SERVER_PORT=$2 sccache --stop-server >/dev/null 2>&1 || true
		local start
		start=$(now)
		(cd "$clone" && SCCACHE_SERVER_PORT=$2 git worktree add -q "../$1-wt" -b "$1-wt" 2>/dev/null &&
			cd "../$1-wt" && "$DAFT_BIN" hooks wait --timeout 30m >/dev/null 2>&1) || true
		since "$start"
		SCCACHE_SERVER_PORT=$2 sccache --stop-server >/dev/null 2>&1 || true
	}
	git -C "$ws" rm -q --ignore-unmatch daft.yml && git -C "$ws" commit -qm "no daft.yml" --allow-empty
	(cd "$ws" && config "$FETCH$WARMUP        env:
          RUSTC_WRAPPER: sccache
          SCCACHE_REDIS_ENDPOINT: $endpoint
")
	ra=$(clone_warmup clone-a 4301)
	rb=$(clone_warmup clone-b 4302)
	python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('  Redis backend: clone A warmup (cold cache) %.1fs, clone B warmup (warm remote cache) %.1fs (%.2fx)' % (a, b, b/a))" "$ra" "$rb"
	kill "$redis_pid" 2>/dev/null || true
else
	echo "  Redis: skipped (redis-server could not be installed)"
fi
