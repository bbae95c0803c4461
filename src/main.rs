//! The `pipit` command: parses arguments and hands over to `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    pipit::platform::keep_freed_memory();
    cli::main()
}
