//! `pipit status`: which stages are out of date, and why.

use std::collections::BTreeMap;

use clap::Args;
use pipit::dag::Selection;
use pipit::lockfile::LockFile;
use pipit::run::Executor;
use pipit::status::{self, Inputs, Look, Reason, reasons};
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Stages, families, globs or output paths to check, with what they need
    targets: Vec<String>,
    /// Print the result as JSON: each changed stage with its reasons
    #[arg(long)]
    json: bool,
    /// Also say what the remote holds: the outs of each stage, and a run for
    /// the current inputs of each changed stage (downloads nothing)
    #[arg(long)]
    remote: bool,
    /// The remote for --remote [default: the default remote]
    #[arg(short = 'r', long = "remote-name", value_name = "NAME", requires = "remote")]
    remote_name: Option<String>,
}

/// Runs `pipit status`: exit 0 when everything is up to date, 1 otherwise.
pub fn run(args: StatusArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let Some(selected) = loaded.select(&args.targets, Selection::Upstream, printer) else {
        return Ok(Outcome::Invalid);
    };
    let files = workspace::opened(&loaded.pipeline.root).remember_digests();
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let stages = selected.iter().map(|&index| &loaded.pipeline.stages[index]);
    files.prepare_digests(&status::paths_of(stages, &files.root));
    let mut changed: BTreeMap<usize, (String, Vec<Reason>)> = BTreeMap::new();
    let order = loaded.dag.topological_order();
    for (position, index) in order.into_iter().filter(|i| selected.contains(i)).enumerate() {
        let stage = &loaded.pipeline.stages[index];
        let (inputs, missing) = Inputs::of(stage, &files)?;
        let why = reasons(
            stage,
            lock.stages.get(&stage.name),
            (&inputs, &missing),
            &files,
            Look::Everywhere,
        )?;
        if !why.is_empty() {
            changed.insert(position, (stage.name.clone(), why));
        }
    }
    files.save_state()?;
    if args.remote {
        return remote_status(&loaded, &selected, &files, &lock, &changed, &args, printer);
    }
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = changed
            .values()
            .map(|(name, why)| (name.clone(), serde_json::to_value(why).unwrap_or_default()))
            .collect();
        printer.out(&(serde_json::to_string_pretty(&map)? + "\n"))?;
    } else if changed.is_empty() {
        printer.line("everything is up to date");
    } else {
        // Where each would run, when `repro` sends stages to a cluster.
        let executor = pipit::remote::config::Config::load(&loaded.pipeline.root)?
            .executor()?
            .unwrap_or_default();
        for (name, why) in changed.values() {
            let stage = loaded.pipeline.stages.iter().find(|s| s.name == *name);
            let place = match (executor, stage.map(|s| executor.for_stage(s))) {
                (Executor::Local, _) => "",
                (_, Some(Executor::Slurm)) => " (runs as a SLURM job)",
                _ => " (runs here)",
            };
            printer.line(&format!("{name}{place}:"));
            for reason in why {
                printer.line(&format!("    {reason}"));
            }
        }
    }
    Ok(if changed.is_empty() { Outcome::Success } else { Outcome::Failure })
}

/// `status --remote`: each stage, whether the remote holds its locked outs,
/// and for a changed stage whether the remote holds a run for its inputs
/// (which `repro --pull` would restore instead of running it).
fn remote_status(
    loaded: &workspace::Workspace,
    selected: &std::collections::BTreeSet<usize>,
    files: &Files,
    lock: &LockFile,
    changed: &BTreeMap<usize, (String, Vec<Reason>)>,
    args: &StatusArgs,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    use pipit::remote::transfer;
    let remote = super::transfer::open_remote(&files.root, args.remote_name.as_deref())?;
    let wanted = pipit::remote::wanted::wanted(&loaded.pipeline, selected, lock, files);
    let there = transfer::present(&remote, &wanted.objects, super::transfer::DEFAULT_JOBS)?;
    let changed_names: BTreeMap<&str, &Vec<Reason>> =
        changed.values().map(|(name, why)| (name.as_str(), why)).collect();
    let mut keys = BTreeMap::new();
    for &index in selected {
        let stage = &loaded.pipeline.stages[index];
        if changed_names.contains_key(stage.name.as_str()) {
            let (inputs, missing) = Inputs::of(stage, files)?;
            if missing.is_empty() {
                keys.insert(stage.name.clone(), pipit::runcache::key(stage, &inputs));
            }
        }
    }
    let runs = transfer::runs_present(
        &remote,
        &keys.values().cloned().collect(),
        super::transfer::DEFAULT_JOBS,
    )?;
    let order = loaded.dag.topological_order();
    for index in order.into_iter().filter(|i| selected.contains(i)) {
        let stage = &loaded.pipeline.stages[index];
        let outs = lock.stages.get(&stage.name).map(|entry| {
            entry.outs.iter().filter(|o| there.contains(&o.hash)).count() == entry.outs.len()
        });
        let held = match outs {
            Some(true) => "its outs are on the remote",
            Some(false) => "the remote lacks some of its outs",
            None => "never run",
        };
        let Some(why) = changed_names.get(stage.name.as_str()) else {
            printer.line(&format!("{}: up to date; {held}", stage.name));
            continue;
        };
        let plan = match keys.get(&stage.name) {
            Some(key) if runs.contains(key) => "the remote has a run for these inputs: restored",
            _ => "no run for these inputs on the remote: runs",
        };
        printer.line(&format!("{}: {plan}; {held}", stage.name));
        for reason in *why {
            printer.line(&format!("    {reason}"));
        }
    }
    Ok(if changed.is_empty() { Outcome::Success } else { Outcome::Failure })
}
