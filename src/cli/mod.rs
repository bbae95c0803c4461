//! The command-line interface: the `Command` enum and its dispatch. One file per
//! command holds its arguments and its `run` function.

mod completions;
mod dag;
mod printer;
mod stages;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use printer::Printer;

/// A declarative, DVC-style pipeline orchestrator for machine learning
#[derive(Debug, Parser)]
#[command(
    name = "pipit",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Draw the pipeline's DAG
    Dag(dag::DagArgs),
    /// List every stage after expansion, with its command, deps, params and outs
    Stages(stages::StagesArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
}

/// How a command ended.
pub enum Outcome {
    /// Everything went well: exit 0.
    Success,
    /// A usage error or an invalid pipeline; nothing was run: exit 2.
    Invalid,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    printer::install_error_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let printer = Printer::new();
    let outcome = match cli.command {
        Command::Dag(args) => dag::run(args, &printer),
        Command::Stages(args) => stages::run(args, &printer),
        Command::Completions(args) => completions::run(args, &printer),
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(2),
        Err(error) if printer::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            printer.error(&error);
            ExitCode::from(2)
        }
    }
}
