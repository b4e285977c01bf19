fn main() -> std::process::ExitCode {
    daft::run(std::env::args_os().collect())
}
