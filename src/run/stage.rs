//! One stage, start to finish: up to date? restorable from the run cache? else
//! run it, check its outs, commit them to the cache, journal its lock entry and
//! remember the run. Outs reach the cache and the lock only after exit code 0.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::command::{self, CommandFailure};
use super::pending::Promise;
use super::slurm;
use super::{Context, Event, Outcome};
use crate::lockfile::{self, LockEntry, LockedPath};
use crate::pipeline::Stage;
use crate::runcache;
use crate::status::{self, Inputs, Reason};
use crate::workspace::{Changing, CheckoutError, Committed, Hashed};

/// Where a stage stands when its worker lets go of it.
pub enum Step<'c> {
    /// Done: what came of it.
    Done(Outcome),
    /// Its command ran and its outs are hashed, or will be before the
    /// stages after it are recorded (see [`super::pending`]): those may
    /// start. What is left (hashing or storing the outs, recording the lock
    /// entry and the run) is this, whose outcome is the stage's; given
    /// `true` on a thread of its own, beside the stages that run (it then
    /// works one file after another), else where nothing else runs.
    Storing(Box<dyn FnOnce(bool) -> Outcome + Send + 'c>),
}

/// Brings one stage up to date, or as far as [`Step::Storing`].
pub fn bring_up_to_date<'c>(
    context: &'c Context,
    index: usize,
    journal: &'c Mutex<()>,
) -> Step<'c> {
    match attempt(context, index, journal) {
        Ok(step) => step,
        Err(error) => Step::Done(failed(error)),
    }
}

fn failed(error: std::io::Error) -> Outcome {
    failure(error.to_string())
}

/// A failure pipit found, not one a command printed.
fn failure(reason: String) -> Outcome {
    Outcome::Failed { reason, stderr_tail: Vec::new() }
}

/// Returns true when stage `index` needs nothing: frozen, or its inputs,
/// params and outs match its lock entry (a question, never a run).
pub fn is_up_to_date(context: &Context, index: usize) -> bool {
    let stage = &context.stages[index];
    if stage.frozen {
        return true;
    }
    !context.options.force
        && inspect(context, stage, &|_| false)
            .is_ok_and(|found| found.missing.is_empty() && found.reasons.is_empty())
}

/// What [`inspect`] found.
struct Inspected {
    /// The stage's inputs, but for the deps `left`.
    inputs: Inputs,
    /// The deps that do not exist.
    missing: Vec<String>,
    /// Why the stage is out of date against its lock entry.
    reasons: Vec<Reason>,
    /// The deps being hashed elsewhere.
    left: Vec<String>,
}

/// Hashes a stage's inputs but for the deps `later` says are being hashed
/// elsewhere (see [`super::pending`]), and compares them with its lock entry.
fn inspect(
    context: &Context,
    stage: &Stage,
    later: &dyn Fn(&str) -> bool,
) -> std::io::Result<Inspected> {
    let workspace = &context.workspace;
    let elsewhere = |path: &str| context.on_remote.as_ref().and_then(|r| r.lookup(path));
    let (inputs, missing, left) = Inputs::of_but(stage, workspace, &elsewhere, later)?;
    let locked = context.lock.get(&stage.name);
    let reasons =
        status::reasons(stage, locked, (&inputs, &missing), workspace, status::Look::ToRun)?;
    Ok(Inspected { inputs, missing, reasons, left })
}

fn attempt<'c>(
    context: &'c Context,
    index: usize,
    journal: &'c Mutex<()>,
) -> std::io::Result<Step<'c>> {
    let stage = &context.stages[index];
    decide(context, index, journal).map(|decided| match decided {
        Decided::Done(outcome) => Step::Done(outcome),
        Decided::Ran { inputs, left, outs } => Step::Storing(Box::new(move |beside| {
            finish_run(context, stage, (inputs, left), outs, beside, journal).unwrap_or_else(failed)
        })),
    })
}

/// What [`decide`] came to.
enum Decided<'c> {
    /// The stage is done.
    Done(Outcome),
    /// Its command ran; its outs are to be stored and it is to be recorded,
    /// once the deps `left` out of its inputs are hashed.
    Ran { inputs: Inputs, left: Vec<String>, outs: Outs<'c> },
}

/// The outs of a stage whose command ran.
enum Outs<'c> {
    /// Hashed, to be stored.
    Hashed(Vec<(String, Hashed)>),
    /// To be hashed and stored while the stages after it run (see
    /// [`super::pending`]); until then the workspace is changing.
    Later { changing: Changing<'c>, promise: Promise<'c> },
}

/// What is left of a stage whose command ran: the deps hashed since it
/// started, then its outs stored, the run remembered and its lock entry
/// journaled. Skipped when a dep was not hashed because its stage failed.
fn finish_run(
    context: &Context,
    stage: &Stage,
    (mut inputs, left): (Inputs, Vec<String>),
    outs: Outs<'_>,
    beside: bool,
    journal: &Mutex<()>,
) -> std::io::Result<Outcome> {
    let resolved: Result<Vec<LockedPath>, String> =
        left.iter().map(|name| context.deferral.resolve(name)).collect();
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(failed) => {
            if let Outs::Later { promise, .. } = outs {
                promise.break_for(&failed);
            }
            return Ok(Outcome::Skipped { failed });
        }
    };
    inputs.complete(resolved);
    if let Some((name, file)) = &context.options.panic_storing
        && *name == stage.name
    {
        let waited = Instant::now();
        while !context.workspace.root.join(file).exists() && waited.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("failpoint: storing the outs of `{}` panics", stage.name);
    }
    let (stored, promise) = match outs {
        Outs::Hashed(hashed) => (store_outs(context, stage, hashed, beside)?, None),
        Outs::Later { changing, promise } => {
            let at = changing.mark();
            // The stages after it run meanwhile: one that writes into its
            // deps (a `__pycache__` in a folder it imports) may change a
            // file as it is read, or remove one as the folder is walked.
            // Read again, what they wrote is then part of the out.
            let mut committed = commit_outs(context, stage, beside);
            for _ in 1..LATER_ATTEMPTS {
                if matches!(committed, Ok(Ok(_))) {
                    break;
                }
                committed = commit_outs(context, stage, beside);
            }
            let committed = committed?;
            if let Ok(outs) = &committed {
                changing.end_remembering(at, folders(context, stage, outs));
            }
            (committed, Some(promise))
        }
    };
    let outs = match stored {
        Ok(outs) => outs,
        Err(failure) => return Ok(failure),
    };
    if runcache::applies_to(stage) {
        context.runs.put(&runcache::key(stage, &inputs), &stage.name, outs.clone())?;
    }
    record(context, stage, &inputs, outs.clone(), journal)?;
    if let Some(promise) = promise {
        promise.keep(&outs);
    }
    Ok(Outcome::Ran)
}

/// How many times outs hashed while the stages after them run are read
/// before their failure is the stage's.
const LATER_ATTEMPTS: usize = 3;

/// The folders among a stage's outs, as the stages after it find them.
fn folders(context: &Context, stage: &Stage, outs: &[LockedPath]) -> Vec<(PathBuf, LockedPath)> {
    stage
        .outs
        .iter()
        .zip(outs)
        .filter(|(_, locked)| locked.nfiles.is_some())
        .map(|(out, locked)| (out.path.to_path(&context.workspace.root), locked.clone()))
        .collect()
}

/// Up to date, restored, or run: everything but storing a run stage's outs.
fn decide<'c>(
    context: &'c Context,
    index: usize,
    journal: &Mutex<()>,
) -> std::io::Result<Decided<'c>> {
    use Decided::Done;
    let stage = &context.stages[index];
    if stage.frozen {
        return Ok(Done(Outcome::Frozen));
    }
    let workspace = &context.workspace;
    let deferral = &context.deferral;
    let fresh = deferral.is_fresh(index);
    let later = |name: &str| fresh && deferral.is_promised(name);
    let Inspected { inputs, missing, reasons, left } = inspect(context, stage, &later)?;
    if let Some(path) = missing.first() {
        let reason = format!("dependency `{path}` does not exist");
        return Ok(Done(failure(reason)));
    }
    let forced = context.options.force;
    let locked = context.lock.get(&stage.name);
    if reasons.is_empty() && !forced {
        return Ok(Done(Outcome::UpToDate));
    }
    // From here the stage may change files: no digest is remembered across it.
    let changing = workspace.changing();
    if let (Some(remote), Some(locked)) = (&context.on_remote, locked)
        && !forced
        && reasons.iter().all(|r| matches!(r, Reason::OutMissing { .. }))
        && remote.leave(workspace, &locked.outs)
    {
        return Ok(Done(Outcome::OnRemote));
    }
    if left.is_empty()
        && !forced
        && runcache::applies_to(stage)
        && !context.options.no_run_cache
        && let Some(outs) = restore(context, stage, &runcache::key(stage, &inputs))?
    {
        record(context, stage, &inputs, outs, journal)?;
        return Ok(Done(Outcome::Restored));
    }
    if let Some(refusal) = unsafe_outs(context, stage) {
        return Ok(Done(refusal));
    }
    (context.on_event)(Event::Started { stage: stage.name.clone() });
    if context.options.panic_in.as_deref() == Some(stage.name.as_str()) {
        panic!("failpoint: a worker panics while running `{}`", stage.name);
    }
    if let Some(remote) = &context.on_remote
        && let Err(reason) = remote.materialize_deps(workspace, stage)
    {
        return Ok(Done(failure(reason)));
    }
    if let Some(failure) = run_command(context, stage, &reasons)? {
        return Ok(Done(failure));
    }
    if deferral.hashes_later(index) {
        // The stages after it may start once its outs are there.
        for out in &stage.outs {
            match fs_err::metadata(out.path.to_path(&workspace.root)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Done(not_produced(out.path.as_str())));
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        let names = stage.outs.iter().map(|o| o.path.to_string()).collect();
        let promise = deferral.promise(&stage.name, names);
        return Ok(Decided::Ran { inputs, left, outs: Outs::Later { changing, promise } });
    }
    let at = changing.mark();
    match hash_outs(context, stage)? {
        Ok(hashed) => {
            let locked: Vec<LockedPath> = hashed.iter().map(|(_, h)| h.locked.clone()).collect();
            changing.end_remembering(at, folders(context, stage, &locked));
            Ok(Decided::Ran { inputs, left, outs: Outs::Hashed(hashed) })
        }
        Err(failure) => Ok(Done(failure)),
    }
}

fn not_produced(name: &str) -> Outcome {
    failure(format!("the command did not produce output `{name}`"))
}

/// Removes the outs (not `persist` ones) and runs the stage's commands;
/// returns the failure, if it failed.
fn run_command(
    context: &Context,
    stage: &Stage,
    reasons: &[Reason],
) -> std::io::Result<Option<Outcome>> {
    let workspace = &context.workspace;
    for out in stage.outs.iter().filter(|o| !o.persist) {
        let name = out.path.to_string();
        if reasons.iter().any(|r| matches!(r, Reason::OutModified { path } if *path == name)) {
            forget_written_through(context, stage, &name);
        }
        context.trash.remove(&stage.name, &out.path.to_path(&workspace.root))?;
    }
    let dir = stage.wdir.to_path(&workspace.root);
    let log = workspace.dot_cache.join("logs").join(log_name(&stage.name));
    let (on_event, name) = (Arc::clone(&context.on_event), stage.name.clone());
    let on_line: super::output::OnLine = Arc::new(move |stream, line: &str| {
        on_event(Event::Output { stage: name.clone(), stream, line: line.to_owned() });
    });
    if context.options.executor.for_stage(stage) == super::Executor::Slurm {
        let records = records_file(&workspace.dot_cache, &stage.name);
        let script =
            workspace.dot_cache.join(slurm::SCRIPTS).join(format!("{}.sh", log_name(&stage.name)));
        let job = slurm::Job {
            stage: &stage.name,
            commands: &stage.cmd,
            dir: &dir,
            search_path: &context.options.search_path,
            resources: &stage.resources,
            log: &log,
            script: &script,
            records: &records,
        };
        return Ok(slurm::run(&job, &on_line)?.err().map(|failed| Outcome::Failed {
            reason: failed.reason,
            stderr_tail: failed.stderr_tail,
        }));
    }
    let Err(CommandFailure { command, code, stderr_tail }) =
        command::run(&stage.cmd, &dir, &context.options.search_path, &log, &on_line)?
    else {
        return Ok(None);
    };
    let reason = match code {
        Some(code) => format!("`{command}` exited with code {code}"),
        None => format!("`{command}` was killed by a signal"),
    };
    Ok(Some(Outcome::Failed { reason, stderr_tail }))
}

/// Hashes every out (see [`crate::workspace::Workspace::hash_out`]); the
/// failure when one is missing or cannot be read.
fn hash_outs(
    context: &Context,
    stage: &Stage,
) -> std::io::Result<Result<Vec<(String, Hashed)>, Outcome>> {
    let workspace = &context.workspace;
    let mut outs = Vec::with_capacity(stage.outs.len());
    for out in &stage.outs {
        let name = out.path.to_string();
        match workspace.hash_out(&out.path.to_path(&workspace.root), &name) {
            Ok(Some(hashed)) => outs.push((name, hashed)),
            Ok(None) => return Ok(Err(not_produced(&name))),
            Err(CheckoutError::Io(error)) => return Err(error),
            Err(error) => return Ok(Err(failure(error.to_string()))),
        }
    }
    Ok(Ok(outs))
}

/// Stores the hashed outs in the cache; the failure when one cannot be.
/// Says when a stored out replaced a corrupted object.
fn store_outs(
    context: &Context,
    stage: &Stage,
    hashed: Vec<(String, Hashed)>,
    beside: bool,
) -> std::io::Result<Result<Vec<LockedPath>, Outcome>> {
    let mut outs = Vec::with_capacity(hashed.len());
    for (name, hashed) in hashed {
        let workspace = &context.workspace;
        let stored = if beside {
            workspace.store_here(hashed, &name)
        } else {
            workspace.store(hashed, &name)
        };
        match stored {
            Ok(committed) => outs.push(healed(context, stage, &name, committed)),
            Err(CheckoutError::Io(error)) => return Err(error),
            Err(error) => return Ok(Err(failure(error.to_string()))),
        }
    }
    Ok(Ok(outs))
}

/// Hashes and stores every out, each file as it is read (see
/// [`crate::workspace::Workspace::commit`]), one after another when
/// `beside` the stages that run; the failure when one is missing or cannot
/// be stored.
fn commit_outs(
    context: &Context,
    stage: &Stage,
    beside: bool,
) -> std::io::Result<Result<Vec<LockedPath>, Outcome>> {
    let workspace = &context.workspace;
    let mut outs = Vec::with_capacity(stage.outs.len());
    for out in &stage.outs {
        let (path, name) = (out.path.to_path(&workspace.root), out.path.to_string());
        let committed = if beside {
            workspace.commit_here(&path, &name)
        } else {
            workspace.commit(&path, &name)
        };
        match committed {
            Ok(Some(committed)) => outs.push(healed(context, stage, &name, committed)),
            Ok(None) => return Ok(Err(not_produced(&name))),
            Err(CheckoutError::Io(error)) => return Err(error),
            Err(error) => return Ok(Err(failure(error.to_string()))),
        }
    }
    Ok(Ok(outs))
}

/// Says which objects of the out `name` storing it replaced because they
/// were corrupted; returns its lock entry.
fn healed(context: &Context, stage: &Stage, name: &str, committed: Committed) -> LockedPath {
    for hash in committed.healed {
        let message = format!(
            "the cached object {} of `{name}` was corrupted; replaced it with the new output",
            crate::hash::short(&hash)
        );
        (context.on_event)(Event::Warning { stage: stage.name.clone(), message });
    }
    committed.locked
}

/// Refuses to run a stage whose outs lead outside the repository through a
/// symbolic link (one created since the pipeline was loaded): nothing there is
/// deleted or written.
fn unsafe_outs(context: &Context, stage: &Stage) -> Option<Outcome> {
    stage.outs.iter().find_map(|out| {
        let error = context.workspace.check_writable(out.path.as_str()).err()?;
        Some(failure(format!("refusing to touch {error}")))
    })
}

/// An out that was placed as a hard link to its object and then edited in
/// place has changed the object too: finds that, removes the object and says so.
fn forget_written_through(context: &Context, stage: &Stage, name: &str) {
    let workspace = &context.workspace;
    let Some(locked) =
        context.lock.get(&stage.name).and_then(|e| e.outs.iter().find(|o| o.path == name))
    else {
        return;
    };
    if locked.nfiles.is_some()
        || !crate::platform::same_file(
            &workspace.root.join(name),
            &workspace.cache.object_path(&locked.hash),
        )
    {
        return;
    }
    if workspace.cache.check(&locked.hash).is_err() && workspace.cache.remove(&locked.hash).is_ok()
    {
        let message = format!(
            "`{name}` was edited through its hard link to the cache, which changed the cached \
             object {}; removed the object (it will be stored again when the stage reproduces it)",
            crate::hash::short(&locked.hash)
        );
        (context.on_event)(Event::Warning { stage: stage.name.clone(), message });
    }
}

/// Restores the outs of an earlier run with the same inputs, if every object is
/// still in the cache; each placed byte is checked, so a corrupted object makes
/// the stage run instead.
fn restore(
    context: &Context,
    stage: &Stage,
    key: &str,
) -> std::io::Result<Option<Vec<LockedPath>>> {
    let workspace = &context.workspace;
    let Some(run) = context.runs.get(key) else {
        return Ok(None);
    };
    let mut expected: Vec<String> = stage.outs.iter().map(|o| o.path.to_string()).collect();
    let mut recorded: Vec<String> = run.outs.iter().map(|o| o.path.clone()).collect();
    expected.sort();
    recorded.sort();
    if recorded != expected {
        return Ok(None);
    }
    let present = || run.outs.iter().all(|o| workspace.is_present(o));
    if !present() {
        // With `--pull`, what the local cache lacks may come from the remote.
        let fetched = context
            .on_remote
            .as_ref()
            .is_some_and(|remote| remote.fetch_outs(workspace, &run.outs).is_ok());
        if !fetched || !present() {
            return Ok(None);
        }
    }
    for out in &run.outs {
        let path = workspace.root.join(&out.path);
        if workspace.digest(&path, &out.path)?.is_some_and(|now| now.hash == out.hash) {
            continue;
        }
        if let Err(error) = workspace.checkout(out) {
            if !matches!(error, CheckoutError::Missing { .. }) {
                let message = format!("not restored from the run cache: {error}; running it");
                (context.on_event)(Event::Warning { stage: stage.name.clone(), message });
            }
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

/// Returns where the last run of `stage` left what it printed:
/// `.cache/logs/NAME.out` and `.err`.
pub fn log_files(dot_cache: &std::path::Path, stage: &str) -> (PathBuf, PathBuf) {
    (log_file(dot_cache, stage, ".out"), log_file(dot_cache, stage, ".err"))
}

/// Returns the file the last run of `stage` may have written records of its
/// own to (see [`crate::runs::RECORDS_ENV`]): `.cache/logs/NAME.runs.jsonl`.
pub fn records_file(dot_cache: &std::path::Path, stage: &str) -> PathBuf {
    log_file(dot_cache, stage, RECORDS_SUFFIX)
}

/// What [`records_file`] adds to the logs' base name.
pub(super) const RECORDS_SUFFIX: &str = ".runs.jsonl";

fn log_file(dot_cache: &std::path::Path, stage: &str, suffix: &str) -> PathBuf {
    let mut name = dot_cache.join("logs").join(log_name(stage)).into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Returns a file name for a stage's logs: the stage's name, with any
/// character unsafe in a file name replaced and then a hash of the exact name
/// added, so that no two stages share a log.
fn log_name(stage: &str) -> String {
    let safe: String = stage
        .chars()
        .map(|c| if c.is_alphanumeric() || "-_.@".contains(c) { c } else { '_' })
        .collect();
    if safe == stage && !stage.starts_with('.') {
        return safe;
    }
    format!("{safe}-{}", &crate::hash::hash_bytes(stage.as_bytes())[..8])
}

/// Returns seconds since `start`.
pub fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
