//! `repro`: runs what is out of date, in topological order, independent stages
//! in parallel (`jobs` worker threads sharing one queue), a failure stopping
//! only what depends on it.
//!
//! Never prints: progress goes to the caller as [`Event`]s.

mod command;
pub mod on_remote;
mod output;
mod pending;
mod slurm;
mod stage;
mod trash;
pub use output::Stream;
pub use stage::{log_files, records_file};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::dag::Dag;
use crate::lockfile::{LOCK_FILE, LockEntry, LockError, LockFile};
use crate::pipeline::{Pipeline, Stage};
use crate::runcache::RunCache;
use crate::status::{self, Inputs, Reason};
use crate::workspace::Workspace;

/// The name of the threads that run stages (the CLI keeps their panics,
/// which become failed stages, off the terminal).
pub const STAGE_THREAD: &str = "pipit-stage";

/// How `repro` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Re-run the selected stages even when up to date, skipping the run cache.
    pub force: bool,
    /// Do not restore from the run cache.
    pub no_run_cache: bool,
    /// After a failure, go on with the stages that do not depend on it.
    pub keep_going: bool,
    /// How many stages may run at once.
    pub jobs: usize,
    /// Where the stages' commands run.
    pub executor: Executor,
    /// The PATH stage commands get.
    pub search_path: OsString,
    /// A stage whose worker panics instead of running it: a failpoint for
    /// pipit's own tests (the CLI sets it only in debug builds).
    pub panic_in: Option<String>,
    /// A stage whose outs panic while being stored, once the file given
    /// exists (made by a stage after it, say): a failpoint for pipit's own
    /// tests, as `panic_in`.
    pub panic_storing: Option<(String, std::path::PathBuf)>,
}

/// Where stages' commands run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Executor {
    /// Here, as child processes.
    #[default]
    Local,
    /// As SLURM batch jobs (`sbatch`), but for stages with `resources:
    /// {local: true}`.
    Slurm,
}

impl Executor {
    /// Where `stage`'s commands run under this executor.
    pub fn for_stage(self, stage: &Stage) -> Executor {
        if stage.resources.local { Executor::Local } else { self }
    }
}

/// What happened to one stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Nothing changed.
    UpToDate,
    /// The stage is frozen.
    Frozen,
    /// The command ran and succeeded.
    Ran,
    /// The outs of an earlier identical run were restored.
    Restored,
    /// Up to date, its outs left on the remote (`repro --pull`).
    OnRemote,
    /// The stage failed; its previous lock entry is kept.
    Failed { reason: String, stderr_tail: Vec<String> },
    /// Not attempted: a stage it depends on failed.
    Skipped { failed: String },
    /// Not attempted: another stage failed and `--keep-going` was not given.
    Stopped,
}

/// Progress of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A stage's command started.
    Started { stage: String },
    /// A stage is done.
    Finished { stage: String, outcome: Outcome, seconds: f64 },
    /// Something the user should know about a stage (a healed cache object).
    Warning { stage: String, message: String },
    /// A line a stage's command printed (also kept in its log).
    Output { stage: String, stream: Stream, line: String },
}

impl Event {
    /// The stage it is about.
    pub fn stage(&self) -> &str {
        match self {
            Self::Started { stage }
            | Self::Finished { stage, .. }
            | Self::Warning { stage, .. }
            | Self::Output { stage, .. } => stage,
        }
    }
}

/// Counts of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Stages whose command ran.
    pub ran: usize,
    /// How many of those are marked `always_changed`.
    pub always_changed: usize,
    /// Stages already up to date (frozen ones included).
    pub up_to_date: usize,
    /// Stages restored from the run cache.
    pub restored: usize,
    /// Stages up to date whose outs were left on the remote.
    pub on_remote: usize,
    /// Stages that failed.
    pub failed: usize,
    /// Stages not attempted because of a failure.
    pub skipped: usize,
}

/// A run that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The lock file or journal is unreadable.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The runtime could not start.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Everything a stage needs while running, shared by the workers.
pub struct Context {
    stages: Vec<Stage>,
    workspace: Arc<Workspace>,
    lock: BTreeMap<String, LockEntry>,
    runs: RunCache,
    options: Options,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
    on_remote: Option<on_remote::OnRemote>,
    /// The outs hashed after the stages that read them start.
    deferral: pending::Deferral,
    /// The outs replaced, deleted beside the stages that run.
    trash: trash::Trash,
}

/// Brings the `selected` stages up to date; the caller holds the repository
/// lock. With `on_remote` (`repro --pull`), outs are fetched from the remote
/// only when a stage needs them.
pub fn repro(
    pipeline: &Pipeline,
    dag: &Dag,
    selected: &BTreeSet<usize>,
    workspace: Arc<Workspace>,
    options: Options,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
    on_remote: Option<on_remote::OnRemote>,
) -> Result<Summary, RunError> {
    let lock = LockFile::read(&workspace.root, &workspace.dot_cache)?;
    let jobs = options.jobs.max(1);
    slurm::cancel_leftovers(&workspace.dot_cache.join(slurm::SCRIPTS));
    // What the stages read and write, hashed side by side before the first
    // stage is checked; not for the stages sure to run and those after them,
    // which the first run makes hash again.
    if !options.force {
        let sure: BTreeSet<usize> = selected
            .iter()
            .copied()
            .filter(|&index| {
                let stage = &pipeline.stages[index];
                status::sure_to_run(stage, lock.stages.get(&stage.name))
            })
            .collect();
        if !sure.is_empty() {
            // What guards the stages' processes, started meanwhile instead
            // of when the first command does (then, if no thread can be).
            let _ = std::thread::Builder::new().spawn(crate::platform::prepare_guard);
        }
        let after = dag.downstream(&sure);
        let stages = selected.difference(&after).map(|&index| &pipeline.stages[index]);
        workspace.prepare_digests(&status::paths_of(stages, &workspace.root));
    }
    let runs = RunCache::new(&workspace.dot_cache);
    let deferral = pending::Deferral::plan(&pending::Run {
        stages: &pipeline.stages,
        dag,
        selected,
        lock: &lock.stages,
        restorable: !options.no_run_cache && !runs.is_empty(),
        allowed: on_remote.is_none() && options.executor == Executor::Local,
    });
    let context = Arc::new(Context {
        stages: pipeline.stages.clone(),
        runs,
        lock: lock.stages.clone(),
        workspace: Arc::clone(&workspace),
        options,
        on_event,
        on_remote,
        deferral,
        trash: trash::Trash::new(&workspace.dot_cache),
    });
    // Only `repro --pull` fetches, on a runtime its workers share.
    let runtime = match context.on_remote {
        Some(_) => Some(tokio::runtime::Builder::new_multi_thread().enable_all().build()?),
        None => None,
    };
    let summary = schedule(&context, dag, selected, jobs, runtime.as_ref().map(|r| r.handle()));
    for (stage, error) in context.trash.empty() {
        let message =
            format!("could not delete the out it replaced: {error}; the next `repro` tries again");
        (context.on_event)(Event::Warning { stage, message });
    }
    // The lock as read, with what the stages completed meanwhile (the
    // repository's lock keeps any other writer out).
    let mut lock = lock;
    let journaled = lock.apply_journal(&workspace.dot_cache)?;
    let names: BTreeSet<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
    let known = lock.stages.len();
    lock.stages.retain(|name, _| names.contains(name.as_str()));
    if journaled > 0 || lock.stages.len() != known || !workspace.root.join(LOCK_FILE).exists() {
        lock.write(&workspace.root, &workspace.dot_cache)?;
    }
    workspace.save_state()?;
    Ok(summary)
}

/// The selected stages in dependency order: how many unfinished stages each
/// waits for, which are ready, and which failed stage stops which.
struct Queue<'d> {
    dag: &'d Dag,
    selected: &'d BTreeSet<usize>,
    position: HashMap<usize, usize>,
    waiting: HashMap<usize, usize>,
    ready: BTreeSet<(usize, usize)>,
    failed_upstream: HashMap<usize, String>,
    /// The stages done, with the failure each carries on (itself, or the
    /// one it was skipped for).
    reported: HashMap<usize, Option<String>>,
}

impl<'d> Queue<'d> {
    fn new(dag: &'d Dag, selected: &'d BTreeSet<usize>) -> Self {
        let order: Vec<usize> =
            dag.topological_order().into_iter().filter(|s| selected.contains(s)).collect();
        let position: HashMap<usize, usize> =
            order.iter().enumerate().map(|(p, &s)| (s, p)).collect();
        let waiting: HashMap<usize, usize> = order
            .iter()
            .map(|&s| (s, dag.parents(s).iter().filter(|p| selected.contains(p)).count()))
            .collect();
        let ready = order.iter().filter(|s| waiting[s] == 0).map(|&s| (position[&s], s)).collect();
        Self {
            dag,
            selected,
            position,
            waiting,
            ready,
            failed_upstream: HashMap::new(),
            reported: HashMap::new(),
        }
    }

    /// Returns the first ready stage, in topological (then file) order, that
    /// takes at most `free` slots (its `cost`), or that will be skipped.
    fn next(&mut self, free: usize, cost: impl Fn(usize) -> usize) -> Option<usize> {
        let skipped = |index: &usize| self.failed_upstream.contains_key(index);
        let found =
            self.ready.iter().find(|(_, index)| skipped(index) || cost(*index) <= free).copied()?;
        self.ready.remove(&found);
        Some(found.1)
    }

    /// True when every stage has started: none is ready, none waits.
    fn all_started(&self) -> bool {
        self.ready.is_empty() && self.waiting.values().all(|&count| count == 0)
    }

    /// Returns the failed stage that `index` depends on, if any.
    fn failed_upstream(&self, index: usize) -> Option<String> {
        self.failed_upstream.get(&index).cloned()
    }

    /// Marks `index` done; `failure` names the failed stage its children must
    /// not run after (itself, or the one it was skipped for).
    fn done(&mut self, index: usize, failure: Option<String>) {
        self.settle(index, failure);
        self.release(index);
    }

    /// Lets the stages after `index` start, once their other deps are done.
    fn release(&mut self, index: usize) {
        for child in self.dag.children(index).into_iter().filter(|c| self.selected.contains(c)) {
            if let Some(count) = self.waiting.get_mut(&child) {
                *count -= 1;
                if *count == 0 {
                    self.ready.insert((self.position[&child], child));
                }
            }
        }
    }

    /// Records what came of `index`: a failure stops the stages after it
    /// that have not started.
    fn settle(&mut self, index: usize, failure: Option<String>) {
        if let Some(name) = &failure {
            // All of them: a stage released before its outs were stored may
            // have children running already, whose own children must not.
            let after = self.dag.downstream(&BTreeSet::from([index]));
            for stage in after.into_iter().filter(|s| *s != index && self.selected.contains(s)) {
                self.failed_upstream.entry(stage).or_insert_with(|| name.clone());
            }
        }
        self.reported.insert(index, failure);
    }
}

/// What the workers share: the queue, what came of the stages so far, and
/// how many are running.
struct Progress<'d> {
    queue: Queue<'d>,
    summary: Summary,
    running: usize,
    /// Of the `jobs` slots, how many the running stages take (see
    /// [`crate::pipeline::Resources::slots`]).
    slots: usize,
    /// A stage failed without `--keep-going`: no other starts.
    stopped: bool,
}

impl Progress<'_> {
    /// True when no stage will start and only `running` of them still run:
    /// every one started, or the run stopped.
    fn none_left_but(&self, running: usize) -> bool {
        self.running == running && (self.stopped || self.queue.all_started())
    }
}

/// Runs the selected stages as their dependencies finish, `jobs` at a time:
/// each worker takes the next ready stage, brings it up to date and takes
/// the next, so that a stage with nothing to do costs no hand-over between
/// threads. A stage whose command ran is handed to one more thread that
/// stores its outs and records it, in the order they are handed over,
/// while the stages after it start: its outs hashed, or hashed there too
/// when the stages after it need no hashes to start (see [`pending`]).
fn schedule(
    context: &Context,
    dag: &Dag,
    selected: &BTreeSet<usize>,
    jobs: usize,
    runtime: Option<&tokio::runtime::Handle>,
) -> Summary {
    let shared = Shared {
        context,
        progress: Mutex::new(Progress {
            queue: Queue::new(dag, selected),
            summary: Summary::default(),
            running: 0,
            slots: 0,
            stopped: false,
        }),
        changed: Condvar::new(),
        journal: Mutex::new(()),
    };
    std::thread::scope(|scope| {
        let shared = &shared;
        let (sender, receiver) = std::sync::mpsc::channel::<(Storing<'_>, bool)>();
        let storer = move || {
            let _stop = StopOnPanic(shared);
            for (storing, alone) in receiver {
                // Beside the stages that run, one file after another; on
                // every thread when none will: the last stage's outs, and
                // those left to store once it ended (at `-j 2` the stages
                // hand over outs faster than one thread beside them stores).
                let alone = alone || shared.lock().none_left_but(0);
                shared.store(storing, !alone);
            }
        };
        // At `-j 1` too: one command runs at a time, while the outs of the
        // one before are stored (a copy of each file, on the other core).
        let storer =
            std::thread::Builder::new().name(STAGE_THREAD.into()).spawn_scoped(scope, storer);
        let sender = storer.is_ok().then_some(sender);
        for _ in 0..jobs.min(selected.len()) {
            let handed = sender.clone();
            let worker = move || {
                let _entered = runtime.map(|r| r.enter());
                shared.work(handed.as_ref());
            };
            let spawned =
                std::thread::Builder::new().name(STAGE_THREAD.into()).spawn_scoped(scope, worker);
            if spawned.is_err() {
                // No thread to spare: this one works instead (handing what
                // it stores over as the others do, in the same order).
                shared.work(sender.as_ref());
            }
        }
    });
    let progress = shared.progress.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut summary = progress.summary;
    if progress.stopped {
        settle_the_rest(context, dag, selected, &progress.queue, &mut summary);
    }
    summary
}

/// Stops the run when the thread holding it unwinds (a panic outside a
/// stage's own work, in reporting say): the workers waiting for a stage wake
/// and leave instead of waiting for ever, and the panic goes on.
struct StopOnPanic<'s, 'c, 'd>(&'s Shared<'c, 'd>);

impl Drop for StopOnPanic<'_, '_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stopped = true;
            self.0.changed.notify_all();
        }
    }
}

/// A stage left to store: its index, when it started, and the rest of it.
type Storing<'c> = (usize, Instant, Box<dyn FnOnce(bool) -> Outcome + Send + 'c>);

/// What the workers and the thread storing outs share.
struct Shared<'c, 'd> {
    context: &'c Context,
    progress: Mutex<Progress<'d>>,
    /// Signalled whenever a stage is done or released.
    changed: Condvar,
    journal: Mutex<()>,
}

impl<'c, 'd> Shared<'c, 'd> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Progress<'d>> {
        self.progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many stages may run at once, one slot each.
    fn jobs(&self) -> usize {
        self.context.options.jobs.max(1)
    }

    /// How many slots stage `index` takes while it runs: its cpus here, one
    /// job on a cluster.
    fn slots(&self, index: usize) -> usize {
        let stage = &self.context.stages[index];
        match self.context.options.executor.for_stage(stage) {
            Executor::Local => stage.resources.slots(self.jobs()),
            Executor::Slurm => 1,
        }
    }

    /// One worker: takes ready stages until none is left and none is
    /// running (or a failure stops the run). A stage whose outs are left to
    /// store goes to `storer`, or is stored here without one.
    fn work(&'c self, storer: Option<&std::sync::mpsc::Sender<(Storing<'c>, bool)>>) {
        let _stop = StopOnPanic(self);
        let context = self.context;
        let mut shared = self.lock();
        while !shared.stopped {
            let free = self.jobs() - shared.slots;
            let Some(index) = shared.queue.next(free, |index| self.slots(index)) else {
                if shared.running == 0 {
                    break;
                }
                shared = self.changed.wait(shared).unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            };
            if let Some(failed) = shared.queue.failed_upstream(index) {
                let outcome = Outcome::Skipped { failed: failed.clone() };
                finish(context, &mut shared.summary, index, outcome, 0.0);
                shared.queue.done(index, Some(failed));
                self.changed.notify_all();
                continue;
            }
            shared.running += 1;
            shared.slots += self.slots(index);
            drop(shared);
            let start = Instant::now();
            let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                stage::bring_up_to_date(context, index, &self.journal)
            }))
            .unwrap_or_else(|payload| stage::Step::Done(panicked(payload)));
            let job = match step {
                stage::Step::Done(outcome) => {
                    self.report(index, outcome, stage::seconds(start), false);
                    shared = self.lock();
                    continue;
                }
                stage::Step::Storing(job) => job,
            };
            // Its command ended, and its outs are hashed or will be, in the
            // order stages are handed over: the stages after it may start.
            let unsent = match storer {
                Some(storer) => {
                    // This stage is the last to run: its outs are stored
                    // where nothing else will run.
                    let alone = self.lock().none_left_but(1);
                    storer.send(((index, start, job), alone)).err().map(|e| e.0.0)
                }
                None => Some((index, start, job)),
            };
            if let Some(storing) = unsent {
                self.store(storing, false);
            }
            shared = self.lock();
            shared.running -= 1;
            shared.slots -= self.slots(index);
            shared.queue.release(index);
            self.changed.notify_all();
        }
        // Whoever stops the run wakes the workers waiting for a stage.
        self.changed.notify_all();
    }

    /// Stores a released stage's outs and reports it (see [`stage::Step`]
    /// for `beside`).
    fn store(&self, (index, start, job): Storing<'_>, beside: bool) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(beside)))
            .unwrap_or_else(panicked);
        self.report(index, outcome, stage::seconds(start), true);
    }

    /// Reports stage `index` done; `released` when the stages after it were
    /// let start before its outs were stored (see [`Shared::work`]): its
    /// failure then stops those that have not started yet. A stage not
    /// released stops running here, in the same step as its children become
    /// ready (else a worker could find nothing ready and nothing running, and
    /// leave).
    fn report(&self, index: usize, outcome: Outcome, seconds: f64, released: bool) {
        let context = self.context;
        let mut shared = self.lock();
        if !released {
            shared.running -= 1;
            shared.slots -= self.slots(index);
        }
        let failed = matches!(outcome, Outcome::Failed { .. });
        // The failure the stages after it carry on: its own, or the one it
        // was skipped for (its outs were stored after a dep failed).
        let failure = match &outcome {
            Outcome::Failed { .. } => Some(context.stages[index].name.clone()),
            Outcome::Skipped { failed } => Some(failed.clone()),
            _ => None,
        };
        finish(context, &mut shared.summary, index, outcome, seconds);
        shared.stopped |= failed && !context.options.keep_going;
        if released {
            shared.queue.settle(index, failure);
        } else {
            shared.queue.done(index, failure);
        }
        self.changed.notify_all();
    }
}

/// After a failure without `--keep-going`, says what became of every
/// selected stage that was not reached: skipped when it depends on a failed
/// stage, up to date when it needed nothing, else not run.
fn settle_the_rest(
    context: &Context,
    dag: &Dag,
    selected: &BTreeSet<usize>,
    queue: &Queue<'_>,
    summary: &mut Summary,
) {
    // What each reached stage came to: `Some(name)` of the failure it carries on.
    let mut blocked: HashMap<usize, Option<String>> = queue.reported.clone();
    // Stages that would have run: their children would run too.
    let mut would_run: BTreeSet<usize> = BTreeSet::new();
    for index in dag.topological_order().into_iter().filter(|s| selected.contains(s)) {
        if blocked.contains_key(&index) {
            continue;
        }
        let parents: Vec<usize> =
            dag.parents(index).into_iter().filter(|p| selected.contains(p)).collect();
        let failed = parents.iter().find_map(|p| blocked.get(p).cloned().flatten());
        let outcome = match failed {
            Some(name) => Outcome::Skipped { failed: name.clone() },
            None if parents.iter().any(|p| would_run.contains(p)) => Outcome::Stopped,
            None if stage::is_up_to_date(context, index) => Outcome::UpToDate,
            None => Outcome::Stopped,
        };
        if outcome == Outcome::Stopped {
            would_run.insert(index);
        }
        let carried = match &outcome {
            Outcome::Skipped { failed } => Some(failed.clone()),
            _ => None,
        };
        finish(context, summary, index, outcome, 0.0);
        blocked.insert(index, carried);
    }
}

/// Turns a worker that panicked into a failed stage.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> Outcome {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    let reason = format!("pipit failed internally while running the stage (a panic: {message})");
    Outcome::Failed { reason, stderr_tail: Vec::new() }
}

fn finish(context: &Context, summary: &mut Summary, index: usize, outcome: Outcome, seconds: f64) {
    match &outcome {
        Outcome::UpToDate | Outcome::Frozen => summary.up_to_date += 1,
        Outcome::Ran => {
            summary.ran += 1;
            summary.always_changed += usize::from(context.stages[index].always_changed);
        }
        Outcome::Restored => summary.restored += 1,
        Outcome::OnRemote => summary.on_remote += 1,
        Outcome::Failed { .. } => summary.failed += 1,
        Outcome::Skipped { .. } | Outcome::Stopped => summary.skipped += 1,
    }
    let stage = context.stages[index].name.clone();
    (context.on_event)(Event::Finished { stage, outcome, seconds });
}

/// What `repro --dry-run` would do with one stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Nothing to do.
    UpToDate,
    /// Frozen: never runs.
    Frozen,
    /// Its outs would come from the run cache.
    Restore { reasons: Vec<Reason> },
    /// It would run, for these reasons.
    Run { reasons: Vec<Reason> },
    /// It would run if a stage it depends on changes its outs.
    AfterUpstream { upstream: String },
}

/// Returns what `repro` would do with each selected stage, in order.
pub fn plan(
    pipeline: &Pipeline,
    dag: &Dag,
    selected: &BTreeSet<usize>,
    workspace: &Workspace,
    options: &Options,
) -> Result<Vec<(String, Plan)>, RunError> {
    let lock = LockFile::read(&workspace.root, &workspace.dot_cache)?;
    let runs = RunCache::new(&workspace.dot_cache);
    let mut changing: BTreeMap<usize, String> = BTreeMap::new();
    let mut plans = Vec::new();
    for index in dag.topological_order().into_iter().filter(|s| selected.contains(s)) {
        let stage = &pipeline.stages[index];
        let (inputs, missing) = Inputs::of(stage, workspace)?;
        let mut reasons = status::reasons(
            stage,
            lock.stages.get(&stage.name),
            (&inputs, &missing),
            workspace,
            status::Look::Everywhere,
        )?;
        if options.force && reasons.is_empty() && !stage.frozen {
            reasons.push(Reason::AlwaysChanged);
        }
        let upstream = dag.parents(index).into_iter().find_map(|p| changing.get(&p).cloned());
        let plan = if stage.frozen {
            Plan::Frozen
        } else if reasons.is_empty() {
            match upstream {
                Some(upstream) => Plan::AfterUpstream { upstream },
                None => Plan::UpToDate,
            }
        } else {
            let key = crate::runcache::key(stage, &inputs);
            let restorable = !options.force
                && !options.no_run_cache
                && crate::runcache::applies_to(stage)
                && runs
                    .get(&key)
                    .is_some_and(|run| run.outs.iter().all(|o| workspace.is_present(o)));
            if restorable { Plan::Restore { reasons } } else { Plan::Run { reasons } }
        };
        if !matches!(plan, Plan::UpToDate | Plan::Frozen) {
            changing.insert(index, stage.name.clone());
        }
        plans.push((stage.name.clone(), plan));
    }
    workspace.save_state()?;
    Ok(plans)
}
