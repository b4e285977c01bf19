//! Integration tests: real git in temporary directories against the built binary.

mod common;
mod harness;

mod agents;
mod background;
mod bad_input;
mod carried_times;
mod coexistence;

mod config_errors;
mod config_mode;
mod copy;
mod copy_safety;
mod docs;
mod doctor;
mod ecosystem;
mod engine;
mod faults;
mod git_variants;
mod hook_contract;
mod init;
mod inputs;
mod install;
mod lifecycle;
mod loud;
mod moves;
mod orchestration;
mod ownership;
mod processes;
mod review;
mod security;
mod services;
mod setup;
mod stress;
mod structure;
mod survival;
mod trust;
mod warm_start;
mod whereabouts;
mod worktree;

fn main() -> std::process::ExitCode {
    harness::run(
        [
            agents::tests(),
            background::tests(),
            bad_input::tests(),
            carried_times::tests(),
            coexistence::tests(),
            config_errors::tests(),
            config_mode::tests(),
            copy::tests(),
            copy_safety::tests(),
            docs::tests(),
            doctor::tests(),
            ecosystem::tests(),
            engine::tests(),
            faults::tests(),
            git_variants::tests(),
            hook_contract::tests(),
            init::tests(),
            inputs::tests(),
            install::tests(),
            lifecycle::tests(),
            loud::tests(),
            moves::tests(),
            orchestration::tests(),
            processes::tests(),
            ownership::tests(),
            review::tests(),
            security::tests(),
            services::tests(),
            setup::tests(),
            stress::tests(),
            structure::tests(),
            survival::tests(),
            trust::tests(),
            warm_start::tests(),
            whereabouts::tests(),
            worktree::tests(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}
