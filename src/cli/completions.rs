//! `pipit completions`: shell completion scripts.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Outcome, Printer};

/// Arguments of `pipit completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    shell: Shell,
}

/// Runs `pipit completions`.
pub fn run(args: CompletionsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pipit", &mut script);
    printer.out(&String::from_utf8_lossy(&script))?;
    Ok(Outcome::Success)
}
