//! `pipit stage …` (the built-in ML stages) and `pipit model …` (the model
//! registry). The only file of the engine's crate that reaches into
//! `pipit-stages`.

use clap::Args;

use super::{Outcome, Printer};

/// Arguments of `pipit stage`
#[derive(Debug, Args)]
pub struct StageArgs {
    #[command(subcommand)]
    command: pipit_stages::StageCommand,
}

/// Arguments of `pipit model`
pub type ModelArgs = pipit_stages::registry::ModelArgs;

/// Arguments of `pipit serve`
pub type ServeArgs = pipit_stages::serve::ServeArgs;

/// Arguments of `pipit ui`
pub type UiArgs = pipit_stages::ui::UiArgs;

/// Runs `pipit ui` until SIGTERM or SIGINT: the runs history (read at each
/// request) and the registry as web pages.
pub fn ui(args: &UiArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let root = project_root()?;
    let dot_cache = root.join(pipit::workspace::DOT_CACHE);
    let runs: pipit_stages::ui::RunsSource = Box::new(move || {
        let history = pipit::runs::read(&dot_cache)?;
        Ok(history.records.iter().map(serde_json::to_value).collect::<Result<_, _>>()?)
    });
    let project = root.clone();
    let plots: pipit_stages::ui::PlotsSource = Box::new(move |rev| {
        let pipeline = pipit::pipeline::load(&project).map_err(|errors| {
            anyhow::anyhow!("the pipeline has {} error(s): `pipit status` shows them", errors.len())
        })?;
        if rev != pipit::revision::WORKSPACE {
            pipit::git::verify(&project, rev)?;
        }
        let files = pipit::workspace::Workspace::open(&project);
        let drawn = pipit::plots::collect::draw(&files, &pipeline, &[rev.to_owned()], &[])?;
        Ok(drawn.map(|d| d.page))
    });
    pipit_stages::ui::run(args, &root, (runs, plots), &|line| printer.line(line))?;
    Ok(Outcome::Success)
}

/// Runs a built-in stage: exit 0 when it succeeds, 1 when it fails.
pub fn run(args: StageArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    report(pipit_stages::run(args.command, &default_registry()?), printer)
}

/// Returns `registry/` beside pipeline.yaml, or in the current directory
/// outside a pipit repository.
fn default_registry() -> anyhow::Result<std::path::PathBuf> {
    Ok(project_root()?.join("registry"))
}

/// Returns the folder of pipeline.yaml, or the current one outside a pipit
/// repository.
fn project_root() -> anyhow::Result<std::path::PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(super::workspace::find_root(&cwd).unwrap_or(cwd))
}

/// Runs `pipit model …` against `registry/` beside pipeline.yaml (or in the
/// current directory outside a pipit repository), unless `--registry` says
/// otherwise.
pub fn model(
    args: pipit_stages::registry::ModelArgs,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    report(pipit_stages::registry::run(args, &default_registry()?), printer)
}

/// Runs `pipit serve` until SIGTERM or SIGINT: exit 2 when no model can be
/// served.
pub fn serve(args: &ServeArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let root = project_root()?;
    let say = |line: &str| {
        if line.starts_with("warning:") { printer.note(line) } else { printer.line(line) }
    };
    match pipit_stages::serve::run(args, &root, &say) {
        Ok(summary) => {
            printer.line(&summary);
            Ok(Outcome::Success)
        }
        Err(error) if error.is::<pipit_stages::serve::NothingToServe>() => {
            printer.error(&error);
            Ok(Outcome::Invalid)
        }
        Err(error) => {
            printer.error(&error);
            Ok(Outcome::Failure)
        }
    }
}

fn report(result: anyhow::Result<String>, printer: &Printer) -> anyhow::Result<Outcome> {
    match result {
        Ok(summary) => {
            printer.line(&summary);
            Ok(Outcome::Success)
        }
        Err(error) => {
            printer.error(&error);
            Ok(Outcome::Failure)
        }
    }
}
