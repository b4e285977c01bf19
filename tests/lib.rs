//! Integration tests: real git in temporary directories against the built binary.

mod common;

mod background;
mod bad_input;
mod coexistence;

mod config_errors;
mod config_mode;
mod copy;
mod copy_safety;
mod doctor;
mod ecosystem;
mod engine;
mod faults;
mod git_variants;
mod hook_contract;
mod inputs;
mod install;
mod lifecycle;
mod orchestration;
mod ownership;
mod review;
mod security;
mod setup;
mod stress;
mod structure;
mod survival;
mod trust;
mod warm_start;
mod worktree;
