#!/usr/bin/env bash
# The user's story on a real workspace: generates `myapp` (server: an HTTP API binary, worker:
# a background job binary, shared: types both import) with real crates.io dependencies, then
# measures a new worktree with and without daft in the same run:
#   (a) how long `git worktree add` takes to return (fetch-deps sync + warmup-build background)
#   (b) how long until the warmup is done
#   (c) the first `cargo build` after editing one line of server, with daft vs without (cold)
#   (d) with sccache: a second worktree's warmup vs the first's
# Usage: bench/workspace.sh WORKDIR (bench/run.sh --full calls it).
set -euo pipefail
work=${1:?usage: bench/workspace.sh WORKDIR}
DAFT_BIN=${DAFT_BIN:?set DAFT_BIN to the daft binary}
ws=$work/ws/myapp
here=$(cd "$(dirname "$0")" && pwd)

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

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

config() { # $1: extra env lines for warmup-build
	cat >daft.yml <<YML
hooks:
  worktree-post-create:
    jobs:
      - name: fetch-deps
        run: cargo fetch --locked

      - name: warmup-build
        run: cargo build --workspace
        background: true
        needs: [fetch-deps]
$1
YML
	git add daft.yml && git commit -qm "daft.yml" && "$DAFT_BIN" trust --yes >/dev/null
}

# Adds a worktree with daft; prints "<add ms> <warmup s>" once the warmup is done.
add_and_warm() {
	local name=$1 start add
	start=$(now)
	git -C "$ws" worktree add -q "../$name" -b "$name" 2>/dev/null
	add=$(since "$start")
	local show="$DAFT_BIN hooks log show --json"
	until (cd "$work/ws/$name" && $show) | python3 "$here/warmup.py" done; do sleep 0.5; done
	(cd "$work/ws/$name" && $show) | python3 "$here/warmup.py" report "$add" "$start"
}

edit_build() { # the first build after editing one line of server
	local dir=$1 start
	sed -i 's/"ok"/"ok!"/' "$dir/server/src/main.rs"
	start=$(now)
	(cd "$dir" && cargo build --workspace --quiet 2>/dev/null)
	since "$start"
}

echo "## the user's story: a three-crate workspace (axum + async-graphql server, sqlx worker, shared types)"
generate
cd "$ws"
echo "  priming the crate download cache (cargo fetch) so both sides start alike"
cargo fetch --locked --quiet
"$DAFT_BIN" install >/dev/null
config ""

start=$(now)
git -c core.hooksPath=/dev/null worktree add -q ../without -b without 2>/dev/null
plain_add=$(since "$start")
cold=$(edit_build "$work/ws/without")
read -r add_ms warm_s < <(add_and_warm with)
incr=$(edit_build "$work/ws/with")

echo "  without daft: git worktree add ${plain_add}s, then the first build after an edit: ${cold}s (cold)"
echo "  with daft:    git worktree add returns in ${add_ms} ms (cargo fetch done), warmup done after ${warm_s}s,"
echo "                the first build after an edit: ${incr}s"
python3 -c "import sys; c,i=map(float,sys.argv[1:]); print('  first edit-build: %.1fx faster with daft (%.1fs vs %.1fs)' % (c/i, i, c))" "$cold" "$incr"
echo "  before: ${cold}s of waiting; after: returns in ${add_ms} ms, first edit-build ${incr}s"

if ! command -v sccache >/dev/null; then
	echo "  installing sccache (Debian package)"
	apt-get install -y -qq sccache >/dev/null
fi
git rm -q daft.yml && git commit -qm "no daft.yml"
config "        env:
          RUSTC_WRAPPER: sccache
          SCCACHE_DIR: $work/sccache"
SCCACHE_DIR=$work/sccache sccache --stop-server >/dev/null 2>&1 || true
read -r _ first < <(add_and_warm sccache-a)
read -r _ second < <(add_and_warm sccache-b)
python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('  sccache: first worktree warmup %.1fs, second %.1fs (%.2fx)' % (a, b, b/a))" "$first" "$second"
SCCACHE_DIR=$work/sccache sccache --stop-server >/dev/null 2>&1 || true
