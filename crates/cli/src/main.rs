//! The `taskpool` binary: parse, run, exit.

fn main() -> std::process::ExitCode {
    taskpool_cli::main()
}
