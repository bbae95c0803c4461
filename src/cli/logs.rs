//! `pipit logs STAGE`: what a stage printed the last time its command ran,
//! kept in `.cache/logs/` (standard output, then standard error).

use clap::Args;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The stage (as `pipit stages` names it: `train@churn-gbm`)
    stage: String,
    /// Only its standard error
    #[arg(long, conflicts_with = "stdout")]
    stderr: bool,
    /// Only its standard output
    #[arg(long)]
    stdout: bool,
}

/// Runs `pipit logs`.
pub fn run(args: LogsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let pipeline = &loaded.pipeline;
    if !pipeline.stages.iter().any(|s| s.name == args.stage) {
        let names = pipeline.stages.iter().map(|s| s.name.as_str());
        let hint = pipit::pipeline::closest(&args.stage, names)
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        printer.note(&format!("error: no stage `{}`{hint}", args.stage));
        return Ok(Outcome::Invalid);
    }
    let files = workspace::open_files(&pipeline.root)?;
    let (out, err) = pipit::run::log_files(&files.dot_cache, &args.stage);
    if !out.exists() && !err.exists() {
        printer.note(&format!(
            "`{}` has no log: its command has not run here (a stage that was up to date or \
             restored from the run cache prints nothing)",
            args.stage
        ));
        return Ok(Outcome::Failure);
    }
    let read = |path: &std::path::Path| fs_err::read_to_string(path).unwrap_or_default();
    let (out_text, err_text) = (read(&out), read(&err));
    let shown = |path: &std::path::Path| {
        path.strip_prefix(&pipeline.root).unwrap_or(path).display().to_string()
    };
    if !args.stderr {
        if !args.stdout {
            printer.note(&format!("── standard output ({})", shown(&out)));
        }
        printer.out(&out_text)?;
    }
    if !args.stdout {
        if !args.stderr {
            printer.note(&format!("── standard error ({})", shown(&err)));
        }
        printer.out(&err_text)?;
    }
    Ok(Outcome::Success)
}
