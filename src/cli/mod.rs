//! The command-line interface: the `Command` enum and its dispatch. One file per
//! command holds its arguments and its `run` function.

mod add;
mod cache;
mod checkout;
mod completions;
mod dag;
mod exp;
mod gc;
mod logs;
mod metrics;
mod params;
mod plots;
mod printer;
mod progress;
mod remote;
mod repro;
mod stage;
mod stages;
mod status;
mod transfer;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use printer::Printer;

/// A declarative, DVC-style pipeline orchestrator for machine learning
#[derive(Debug, Parser)]
#[command(name = "pipit", version, about, propagate_version = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run what is out of date, independent stages in parallel
    Repro(repro::ReproArgs),
    /// List the stages that are out of date, and why
    Status(status::StatusArgs),
    /// Restore the outputs recorded in the lock file from the cache
    Checkout(checkout::CheckoutArgs),
    /// Track data that no stage produces: cache it and write `PATH.pipit` for git
    Add(add::AddArgs),
    /// Remove cached objects and run-cache entries that nothing needs
    Gc(gc::GcArgs),
    /// Inspect the cache
    Cache(cache::CacheArgs),
    /// Configure the remotes the cache is shared through
    Remote(remote::RemoteArgs),
    /// Upload the outs and run-cache entries the remote lacks
    Push(transfer::TransferArgs),
    /// Download the outs and run-cache entries the local cache lacks, and place the outs
    Pull(transfer::TransferArgs),
    /// Download the outs and run-cache entries the local cache lacks, without placing them
    Fetch(transfer::TransferArgs),
    /// Draw the pipeline's DAG
    Dag(dag::DagArgs),
    /// Run one of pipit's built-in ML stages
    Stage(stage::StageArgs),
    /// The model registry: register, list, show, promote, rollback
    Model(stage::ModelArgs),
    /// Serve the registry's current models over HTTP: /predict, /health, /metrics
    Serve(stage::ServeArgs),
    /// A local web page: the runs, charts of a metric across them, the registry and the reports
    Ui(stage::UiArgs),
    /// What a stage printed the last time its command ran
    Logs(logs::LogsArgs),
    /// The metrics files the stages write: `show`, `diff`
    Metrics(metrics::MetricsArgs),
    /// The runs history: `show`
    Exp(exp::ExpArgs),
    /// The params the stages read: `diff`
    Params(params::ParamsArgs),
    /// The plots files the stages write, drawn into an HTML page: `show`, `diff`
    Plots(plots::PlotsArgs),
    /// List every stage after expansion, with its command, deps, params and outs
    Stages(stages::StagesArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
}

/// How a command ended.
pub enum Outcome {
    /// Everything went well: exit 0.
    Success,
    /// Something the user can fix (a failed stage, a changed status): exit 1.
    Failure,
    /// A usage error or an invalid pipeline; nothing was run: exit 2.
    Invalid,
}

/// Returns what to say of an unknown command `name`: DVC's word for one of
/// pipit's, or the command it is a typo of, or nothing (never an unrelated
/// command).
fn unknown_command(name: &str) -> String {
    let dvc = [
        ("init", "pipit needs no init: write a `pipeline.yaml` and run `pipit repro`"),
        ("commit", "`pipit repro` records outs in `pipeline.lock` as it runs"),
        ("version", "it is `pipit --version`"),
    ];
    if let Some((_, note)) = dvc.iter().find(|(word, _)| *word == name) {
        return format!(" (DVC's `{name}`: {note})");
    }
    let commands: Vec<String> = <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    pipit::pipeline::closest(name, commands.iter().map(String::as_str))
        .map(|command| format!("; did you mean `{command}`?"))
        .unwrap_or_default()
}

/// A stage's worker that panics is reported as that stage's failure, with
/// the panic's message; the default hook would also print it over the
/// progress display. Other threads keep the default hook.
fn quiet_worker_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let worker = std::thread::current().name() == Some(pipit::run::STAGE_THREAD);
        if !worker {
            default(info);
        }
    }));
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    printer::install_error_hook();
    quiet_worker_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if error.kind() == clap::error::ErrorKind::InvalidSubcommand => {
            let name = error
                .get(clap::error::ContextKind::InvalidSubcommand)
                .map(ToString::to_string)
                .unwrap_or_default();
            let printer = Printer::new();
            printer
                .note(&format!("error: pipit has no command `{name}`{}", unknown_command(&name)));
            printer.note("\nSee `pipit --help` for the commands.");
            return ExitCode::from(2);
        }
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let printer = Printer::new();
    // The commands that hash and store files side by side, unless told how
    // many threads to use.
    if std::env::var_os("RAYON_NUM_THREADS").is_none()
        && matches!(
            cli.command,
            Command::Repro(_)
                | Command::Status(_)
                | Command::Checkout(_)
                | Command::Add(_)
                | Command::Gc(_)
                | Command::Exp(_)
        )
    {
        pipit::platform::spread_pool_threads();
    }
    let outcome = match cli.command {
        Command::Repro(args) => repro::run(args, &printer),
        Command::Status(args) => status::run(args, &printer),
        Command::Checkout(args) => checkout::run(args, &printer),
        Command::Add(args) => add::run(args, &printer),
        Command::Gc(args) => gc::run(args, &printer),
        Command::Cache(args) => cache::run(args, &printer),
        Command::Remote(args) => remote::run(args, &printer),
        Command::Push(args) => transfer::run(args, transfer::Direction::Push, &printer),
        Command::Pull(args) => transfer::run(args, transfer::Direction::Pull, &printer),
        Command::Fetch(args) => transfer::run(args, transfer::Direction::Fetch, &printer),
        Command::Dag(args) => dag::run(args, &printer),
        Command::Stage(args) => stage::run(args, &printer),
        Command::Model(args) => stage::model(args, &printer),
        Command::Serve(args) => stage::serve(&args, &printer),
        Command::Logs(args) => logs::run(args, &printer),
        Command::Metrics(args) => metrics::run(args, &printer),
        Command::Plots(args) => plots::run(args, &printer),
        Command::Exp(args) => exp::run(args, &printer),
        Command::Ui(args) => stage::ui(&args, &printer),
        Command::Params(args) => params::run(args, &printer),
        Command::Stages(args) => stages::run(args, &printer),
        Command::Completions(args) => completions::run(args, &printer),
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failure) => ExitCode::from(1),
        Ok(Outcome::Invalid) => ExitCode::from(2),
        Err(error) if printer::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            printer.error(&error);
            ExitCode::from(2)
        }
    }
}
