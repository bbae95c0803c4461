//! One stage, start to finish: up to date? restorable from the run cache? else
//! run it, check its outs, commit them to the cache, journal its lock entry and
//! remember the run. Outs reach the cache and the lock only after exit code 0.

use std::sync::Mutex;
use std::time::Instant;

use super::command::{self, CommandFailure};
use super::{Context, Event, Outcome};
use crate::cache::remove_path;
use crate::lockfile::{self, LockEntry, LockedPath};
use crate::pipeline::Stage;
use crate::runcache;
use crate::status::{self, Inputs};

/// Brings one stage up to date and returns what happened.
pub fn bring_up_to_date(context: &Context, index: usize, journal: &Mutex<()>) -> Outcome {
    let stage = &context.stages[index];
    match attempt(context, stage, journal) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed { reason: error.to_string(), stderr_tail: Vec::new() },
    }
}

fn attempt(context: &Context, stage: &Stage, journal: &Mutex<()>) -> std::io::Result<Outcome> {
    if stage.frozen {
        return Ok(Outcome::Frozen);
    }
    let workspace = &context.workspace;
    let (inputs, missing) = Inputs::of(stage, workspace)?;
    if let Some(path) = missing.first() {
        let reason = format!("dependency `{path}` does not exist");
        return Ok(Outcome::Failed { reason, stderr_tail: Vec::new() });
    }
    let forced = context.options.force;
    let locked = context.lock.get(&stage.name);
    let reasons = status::reasons(stage, locked, &inputs, &missing, workspace)?;
    if reasons.is_empty() && !forced {
        return Ok(Outcome::UpToDate);
    }
    let key = runcache::key(stage, &inputs);
    if !forced
        && !stage.always_changed
        && !context.options.no_run_cache
        && let Some(outs) = restore(context, stage, &key)?
    {
        record(context, stage, &inputs, outs, journal)?;
        return Ok(Outcome::Restored);
    }
    (context.on_event)(Event::Started { stage: stage.name.clone() });
    for out in stage.outs.iter().filter(|o| !o.persist) {
        remove_path(&out.path.to_path(&workspace.root))?;
    }
    let dir = stage.wdir.to_path(&workspace.root);
    let log = workspace.dot_cache.join("logs").join(log_name(&stage.name));
    if let Err(CommandFailure { command, code, stderr_tail }) =
        command::run(&stage.cmd, &dir, &context.options.search_path, &log)?
    {
        let reason = match code {
            Some(code) => format!("`{command}` exited with code {code}"),
            None => format!("`{command}` was killed by a signal"),
        };
        return Ok(Outcome::Failed { reason, stderr_tail });
    }
    let mut outs = Vec::with_capacity(stage.outs.len());
    for out in &stage.outs {
        let name = out.path.to_string();
        match workspace.commit(&out.path.to_path(&workspace.root), &name)? {
            Some(locked) => outs.push(locked),
            None => {
                let reason = format!("the command did not produce output `{name}`");
                return Ok(Outcome::Failed { reason, stderr_tail: Vec::new() });
            }
        }
    }
    context.runs.put(&key, &stage.name, outs.clone())?;
    record(context, stage, &inputs, outs, journal)?;
    Ok(Outcome::Ran)
}

/// Restores the outs of an earlier run with the same inputs, if every object is
/// still in the cache and intact.
fn restore(
    context: &Context,
    stage: &Stage,
    key: &str,
) -> std::io::Result<Option<Vec<LockedPath>>> {
    let workspace = &context.workspace;
    let Some(run) = context.runs.get(key) else {
        return Ok(None);
    };
    let expected: Vec<String> = stage.outs.iter().map(|o| o.path.to_string()).collect();
    if run.outs.len() != expected.len()
        || !run.outs.iter().all(|o| expected.contains(&o.path) && workspace.is_cached(o))
    {
        return Ok(None);
    }
    for out in &run.outs {
        let path = workspace.root.join(&out.path);
        if workspace.digest(&path, &out.path)?.is_some_and(|now| now.hash == out.hash) {
            continue;
        }
        if workspace.checkout(out, &path).is_err() {
            return Ok(None);
        }
    }
    Ok(Some(run.outs))
}

/// Journals the stage's new lock entry.
fn record(
    context: &Context,
    stage: &Stage,
    inputs: &Inputs,
    outs: Vec<LockedPath>,
    journal: &Mutex<()>,
) -> std::io::Result<()> {
    let entry = LockEntry {
        cmd: stage.cmd.clone(),
        deps: inputs.deps.clone(),
        params: inputs.params.clone(),
        outs,
    }
    .normalise();
    let _guard = journal.lock();
    lockfile::journal(&context.workspace.dot_cache, &stage.name, &entry).map_err(|e| match e {
        lockfile::LockError::Io(io) => io,
        other => std::io::Error::other(other.to_string()),
    })
}

/// Returns a file name for a stage's logs.
fn log_name(stage: &str) -> String {
    stage.chars().map(|c| if c.is_alphanumeric() || "-_.@".contains(c) { c } else { '_' }).collect()
}

/// Returns seconds since `start`.
pub fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
