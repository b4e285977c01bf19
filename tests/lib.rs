//! Integration tests: real git in temporary directories against the built binary.

mod common;

mod background;

mod config_errors;
mod engine;
mod install;
mod trust;
mod worktree;
