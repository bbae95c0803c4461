//! `pipit stages`: every stage after expansion.

use std::fmt::Write;

use clap::Args;
use pipit::pipeline::{Stage, stage::DepPath};

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit stages`
#[derive(Debug, Args)]
pub struct StagesArgs {
    /// Print the stages as JSON
    #[arg(long)]
    json: bool,
}

/// Runs `pipit stages`.
pub fn run(args: StagesArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(workspace) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let stages = &workspace.pipeline.stages;
    let text = if args.json {
        serde_json::to_string_pretty(stages)? + "\n"
    } else {
        stages.iter().map(describe).collect::<Vec<_>>().join("\n")
    };
    printer.out(&text)?;
    Ok(Outcome::Success)
}

/// Returns the text block that describes one stage.
fn describe(stage: &Stage) -> String {
    let mut text = format!("{}\n", stage.name);
    let mut line = |label: &str, values: Vec<String>| {
        for (i, value) in values.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let _ = writeln!(text, "  {label:<7} {value}");
        }
    };
    line("cmd", stage.cmd.clone());
    if stage.wdir.as_str() != "" {
        line("wdir", vec![stage.wdir.to_string()]);
    }
    line("deps", stage.deps.iter().map(|d| dep_text(&d.path)).collect());
    line(
        "params",
        stage
            .params
            .iter()
            .flat_map(|p| p.values.iter().map(move |(k, v)| param_text(&p.file.to_string(), k, v)))
            .collect(),
    );
    line("outs", stage.outs.iter().map(|o| o.path.to_string()).collect());
    if !stage.resources.is_empty() {
        line("needs", vec![stage.resources.to_string()]);
    }
    let flags: Vec<&str> = [(stage.frozen, "frozen"), (stage.always_changed, "always changed")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if !flags.is_empty() {
        line("flags", vec![flags.join(", ")]);
    }
    text
}

fn dep_text(path: &DepPath) -> String {
    match path {
        DepPath::Repo(path) => path.to_string(),
        DepPath::External(path) => format!("{} (external)", path.display()),
    }
}

fn param_text(file: &str, key: &str, value: &serde_json::Value) -> String {
    let prefix = if file == "params.yaml" { String::new() } else { format!("{file}:") };
    let key = if key.is_empty() { "(all)" } else { key };
    format!("{prefix}{key} = {value}")
}
