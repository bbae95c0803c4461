//! `pipit repro`: bring the pipeline up to date.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use pipit::dag::{Selection, missing_dependencies};
use pipit::gitignore::ensure_ignored;
use pipit::repolock::{LockNotice, RepoLock};
use pipit::run::{self, Event, Options, Plan};
use pipit::runs::{Record, StageRun};
use pipit::workspace::DOT_CACHE;

use super::progress::{LogOrder, OutputLogs, Progress, Shown};
use super::{Outcome, Printer, workspace};

/// Where stages run (see [`run::Executor`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExecutorArg {
    /// Here, as child processes
    Local,
    /// As SLURM batch jobs, submitted with `sbatch`
    Slurm,
}

impl From<ExecutorArg> for run::Executor {
    fn from(arg: ExecutorArg) -> Self {
        match arg {
            ExecutorArg::Local => run::Executor::Local,
            ExecutorArg::Slurm => run::Executor::Slurm,
        }
    }
}

/// How many jobs `--executor slurm` keeps in flight unless told.
const SLURM_JOBS: usize = 16;

/// Arguments of `pipit repro`
#[derive(Debug, Args)]
pub struct ReproArgs {
    /// Stages, families (`train`), globs (`train@*`) or output paths to bring up
    /// to date, with what they need (all stages when none is given)
    targets: Vec<String>,
    /// Re-run the targets and what they need even if up to date; skip the run cache
    #[arg(short, long)]
    force: bool,
    /// Print what would run and why, and run nothing
    #[arg(long)]
    dry_run: bool,
    /// Run the targets and what depends on them, instead of what they need
    #[arg(long, conflicts_with = "single_item")]
    downstream: bool,
    /// Run only the targets themselves
    #[arg(short, long)]
    single_item: bool,
    /// After a failure, go on with the stages that do not depend on it
    #[arg(short, long)]
    keep_going: bool,
    /// Run stages even when an earlier run with the same inputs could be restored
    #[arg(long)]
    no_run_cache: bool,
    /// How many stages may run at once; a stage with `resources: {cpus: N}` counts N [default: the number of cores; 16 jobs in flight with `--executor slurm`]
    #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Where stages run: here, or as SLURM batch jobs (the repository on a
    /// file system every node sees; stages with `resources: {local: true}`
    /// still run here) [default: `core.executor` of .pipit/config.local.toml
    /// or .pipit/config.toml, else local]
    #[arg(long, value_enum, value_name = "EXECUTOR")]
    executor: Option<ExecutorArg>,
    /// Print only failures and the summary
    #[arg(short, long)]
    quiet: bool,
    /// Whose output to show; every stage's is kept for `pipit logs STAGE`
    /// [default: full, errors-only with --quiet]
    #[arg(long, value_enum, value_name = "WHOSE")]
    output_logs: Option<OutputLogs>,
    /// Show stage output line by line as it comes, or each stage's together
    /// when it ends
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = LogOrder::Stream)]
    log_order: LogOrder,
    /// Fail at once if another pipit is running in this repository
    #[arg(long)]
    no_wait: bool,
    /// Use the remote's run cache and objects: restore what it has, and
    /// download outs only when a stage that runs needs them
    #[arg(long)]
    pull: bool,
    /// After a successful run, upload the new objects and run-cache entries
    #[arg(long)]
    push: bool,
    /// The remote for --pull and --push [default: the default remote]
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
}

/// Runs `pipit repro`.
pub fn run(args: ReproArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let missing = missing_dependencies(&loaded.pipeline);
    if !missing.is_empty() {
        for error in &missing {
            printer.diagnostic(error);
        }
        return Ok(Outcome::Invalid);
    }
    let selection = match (args.downstream, args.single_item) {
        (true, _) => Selection::Downstream,
        (_, true) => Selection::Single,
        _ => Selection::Upstream,
    };
    let Some(selected) = loaded.select(&args.targets, selection, printer) else {
        return Ok(Outcome::Invalid);
    };
    // Stages that change files say so (see `Workspace::changing`).
    let files = Arc::new(workspace::open_files(&loaded.pipeline.root)?.remember_digests());
    let executor = match args.executor {
        Some(executor) => run::Executor::from(executor),
        None => pipit::remote::config::Config::load(&loaded.pipeline.root)?
            .executor()?
            .unwrap_or_default(),
    };
    let options = Options {
        force: args.force,
        no_run_cache: args.no_run_cache,
        keep_going: args.keep_going,
        jobs: args.jobs.map_or_else(
            || match executor {
                run::Executor::Local => default_jobs(),
                run::Executor::Slurm => SLURM_JOBS,
            },
            usize::from,
        ),
        executor,
        search_path: search_path(),
        panic_in: panic_failpoint(),
        panic_storing: storing_failpoint(),
    };
    if args.dry_run {
        let plans = run::plan(&loaded.pipeline, &loaded.dag, &selected, &files, &options)?;
        // Where each stage would run, when not all here.
        let place = |name: &str| {
            let stage = loaded.pipeline.stages.iter().find(|s| s.name == name);
            match (options.executor, stage.map(|s| options.executor.for_stage(s))) {
                (run::Executor::Local, _) => "",
                (_, Some(run::Executor::Slurm)) => " as a SLURM job",
                _ => " here",
            }
        };
        print_plan(printer, &plans, &place);
        return Ok(Outcome::Success);
    }
    let took_over = std::cell::Cell::new(false);
    let _lock = match RepoLock::acquire(&files.dot_cache, !args.no_wait, &|notice| match notice {
        LockNotice::Waiting { pid } => printer.note(&format!(
            "waiting for another pipit{} to finish in this repository…",
            pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
        )),
        LockNotice::TookOver { pid } => {
            took_over.set(true);
            printer.note(&format!(
                "warning: took over the repository lock left by pid {pid}, which is no longer running"
            ));
        }
    }) {
        Ok(lock) => lock,
        Err(error) => {
            printer.note(&format!("error: {error}"));
            return Ok(Outcome::Failure);
        }
    };
    {
        let _changing = files.changing();
        remove_leftovers(&loaded.pipeline, &files, took_over.get(), printer)?;
    }
    let shown = Shown {
        logs: args.output_logs.unwrap_or(if args.quiet {
            OutputLogs::ErrorsOnly
        } else {
            OutputLogs::Full
        }),
        order: args.log_order,
        prefix: options.jobs > 1 && selected.len() > 1,
    };
    let progress = Arc::new(Progress::new(selected.len(), args.quiet, shown));
    let (shown, copy) = (Arc::clone(&progress), *printer);
    let finished = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = Arc::clone(&finished);
    // The revision as the run found it (the run itself rewrites tracked
    // outs), asked of git beside the run when its first stage starts (a run
    // with nothing to do asks nothing).
    let head: Arc<std::sync::Mutex<Option<GitHead>>> = Arc::default();
    let (asked, root) = (Arc::clone(&head), loaded.pipeline.root.clone());
    let on_event: Arc<dyn Fn(Event) + Send + Sync> = Arc::new(move |event| {
        if let Event::Started { .. } = &event
            && let Ok(mut head) = asked.lock()
            && head.is_none()
        {
            let root = root.clone();
            *head = Some(std::thread::spawn(move || pipit::git::head(&root)));
        }
        if let Event::Finished { stage, outcome, seconds } = &event {
            let run = StageRun {
                name: stage.clone(),
                outcome: outcome_word(outcome).into(),
                seconds: *seconds,
            };
            kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(run);
        }
        shown.event(&copy, event)
    });
    let (started_at, started) = (pipit::runs::now(), Instant::now());
    let remote = if args.pull || args.push {
        Some(super::transfer::open_remote(&files.root, args.remote.as_deref())?)
    } else {
        None
    };
    let on_remote = match (&remote, args.pull) {
        (Some(remote), true) => Some(pull_runs(remote, &files, printer)?),
        _ => None,
    };
    {
        let _changing = files.changing();
        place_tracked(&loaded, &selected, &files, on_remote.as_ref())?;
    }
    let ran = run::repro(
        &loaded.pipeline,
        &loaded.dag,
        &selected,
        Arc::clone(&files),
        options,
        on_event,
        on_remote,
    );
    // Whatever the run came to, what it held back is shown first.
    progress.finish(printer);
    let summary = match ran {
        Ok(summary) => summary,
        Err(
            run::RunError::Io(error) | run::RunError::Lock(pipit::lockfile::LockError::Io(error)),
        ) if is_disk_full(&error) => {
            printer.note(&format!(
                "error: the disk is full: {error}\nhint: free some space and run `pipit repro` \
                 again; what completed is kept"
            ));
            return Ok(Outcome::Failure);
        }
        Err(error) => return Err(error.into()),
    };
    let stages =
        std::mem::take(&mut *finished.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let seconds = started.elapsed().as_secs_f64();
    // The history is a record of the run, not part of it: a failure to
    // write it is said, and the run's outcome stands.
    let head = head.lock().ok().and_then(|mut head| head.take());
    if let Err(error) =
        record_run(&loaded.pipeline, &files.dot_cache, (started_at, head, seconds), stages, printer)
    {
        printer.note(&format!("warning: the run is not in the runs history: {error:#}"));
    }
    ignore_outputs(&loaded.pipeline)?;
    if let (Some(remote), true) = (&remote, args.push && summary.failed == 0) {
        push(&loaded, &selected, &files, remote, printer)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let only_always_changed =
        summary.ran == summary.always_changed && summary.restored + summary.failed == 0;
    if only_always_changed && summary.skipped == 0 {
        let total = summary.up_to_date + summary.ran + summary.on_remote;
        let stages = if total == 1 { "1 stage".to_owned() } else { format!("{total} stages") };
        let ran = match summary.ran {
            0 => String::new(),
            1 => "; ran the always-changed one".to_owned(),
            n => format!("; ran the {n} always-changed ones"),
        };
        let left = match summary.on_remote {
            0 => String::new(),
            n => format!("; the outs of {n} left on the remote (`pipit pull` fetches them)"),
        };
        printer.line(&format!("everything is up to date ({stages}{ran}{left}) in {seconds:.2}s"));
    } else {
        printer.line(&format!(
            "ran {}, up to date {}, restored from run cache {}, failed {}{}{} in {seconds:.2}s",
            summary.ran,
            summary.up_to_date,
            summary.restored,
            summary.failed,
            if summary.on_remote > 0 {
                format!(", outs left on the remote {}", summary.on_remote)
            } else {
                String::new()
            },
            if summary.skipped > 0 {
                format!(", not run {}", summary.skipped)
            } else {
                String::new()
            },
        ));
    }
    Ok(if summary.failed > 0 { Outcome::Failure } else { Outcome::Success })
}

/// In debug builds, `PIPIT_TEST_PANIC_IN=STAGE` makes the worker running
/// `STAGE` panic, so that tests can check a panic fails the stage.
fn panic_failpoint() -> Option<String> {
    if cfg!(debug_assertions) { std::env::var("PIPIT_TEST_PANIC_IN").ok() } else { None }
}

/// `PIPIT_TEST_PANIC_STORING=STAGE FILE`, in debug builds: storing STAGE's
/// outs panics once FILE exists (see [`Options::panic_storing`]).
fn storing_failpoint() -> Option<(String, std::path::PathBuf)> {
    let value =
        std::env::var("PIPIT_TEST_PANIC_STORING").ok().filter(|_| cfg!(debug_assertions))?;
    let (stage, file) = value.split_once(' ')?;
    Some((stage.to_owned(), file.into()))
}

/// Deletes the temporary files a dead pipit left: always in `.cache/`, and in
/// the folders only a lock holder writes to (the root, the outs' folders,
/// the run cache, the object folders) when the previous holder died, so
/// that a no-op `repro` never lists large folders.
fn remove_leftovers(
    pipeline: &pipit::pipeline::Pipeline,
    files: &pipit::workspace::Workspace,
    took_over: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let mut folders = Vec::new();
    if took_over {
        folders = pipit::integrity::lock_holder_folders(files);
        folders.extend(
            pipeline
                .stages
                .iter()
                .flat_map(|s| s.outs.iter())
                .filter_map(|o| o.path.as_str().rsplit_once('/').map(|(folder, _)| folder))
                .filter(|folder| files.check_writable(folder).is_ok())
                .map(|folder| files.root.join(folder)),
        );
        // An object is written beside where it goes.
        folders.extend(files.cache.folders());
    }
    let leftovers = pipit::integrity::leftovers(files, &folders);
    // One that cannot be removed (a read-only folder in an out it was
    // deleting) does not stop the run.
    let failed = pipit::integrity::remove_all(&leftovers);
    if leftovers.len() > failed.len() {
        printer.note(&format!(
            "note: removed {} temporary files left by an interrupted pipit",
            leftovers.len() - failed.len()
        ));
    }
    for error in failed {
        printer.note(&format!("warning: could not remove what an interrupted pipit left: {error}"));
    }
    Ok(())
}

/// Puts the data `pipit add` tracks that the selected stages read, and the
/// workspace lacks, in place from the cache; with `--pull`, data only the
/// remote has stays there until a stage that runs reads it.
fn place_tracked(
    loaded: &workspace::Workspace,
    selected: &std::collections::BTreeSet<usize>,
    files: &pipit::workspace::Workspace,
    on_remote: Option<&pipit::run::on_remote::OnRemote>,
) -> anyhow::Result<()> {
    for record in pipit::tracked::of_deps(&loaded.pipeline, Some(selected))? {
        if files.root.join(&record.path).exists() {
            continue;
        }
        if files.is_present(&record) {
            files.checkout(&record).map_err(|e| anyhow::anyhow!("{e}"))?;
        } else if let Some(on_remote) = on_remote {
            on_remote.leave(files, std::slice::from_ref(&record));
        }
    }
    Ok(())
}

/// Fetches the remote's run-cache entries the local cache lacks, and returns
/// the view `repro --pull` runs with.
fn pull_runs(
    remote: &pipit::remote::Remote,
    files: &pipit::workspace::Workspace,
    printer: &Printer,
) -> anyhow::Result<pipit::run::on_remote::OnRemote> {
    let none = std::collections::BTreeSet::new();
    let jobs = super::transfer::DEFAULT_JOBS;
    let summary = pipit::remote::transfer::pull(files, remote, &none, true, jobs, &|_| {})?;
    printer.note(&format!("fetched {} run-cache entries from `{}`", summary.runs, remote.name));
    super::transfer::warn_unsigned(remote, &summary, printer);
    Ok(pipit::run::on_remote::OnRemote::new(remote.clone(), jobs))
}

/// Uploads the objects and current run-cache entries of the `selected`
/// stages that the remote lacks.
fn push(
    loaded: &workspace::Workspace,
    selected: &std::collections::BTreeSet<usize>,
    files: &pipit::workspace::Workspace,
    remote: &pipit::remote::Remote,
    printer: &Printer,
) -> anyhow::Result<()> {
    use pipit::remote::transfer;
    let tracked = pipit::tracked::of_deps(&loaded.pipeline, Some(selected))?;
    let wanted = super::transfer::carried(loaded, selected, &tracked, files)?;
    let objects = transfer::with_manifest_files(files, &wanted.objects);
    let summary = transfer::push(
        files,
        remote,
        &objects,
        &wanted.runs,
        super::transfer::DEFAULT_JOBS,
        &|_| {},
    )?;
    printer.note(&super::transfer::summary_line(
        super::transfer::Direction::Push,
        remote,
        &summary,
    ));
    Ok(())
}

/// Returns true for the errors of a full disk or an exhausted quota.
fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Returns PATH with the folder of this pipit binary first, so that a stage's
/// `pipit stage …` always calls the same build.
fn search_path() -> std::ffi::OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let Some(folder) =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(ToOwned::to_owned))
    else {
        return current;
    };
    let mut paths = vec![folder];
    paths.extend(std::env::split_paths(&current));
    std::env::join_paths(paths).unwrap_or(current)
}

/// Adds `.cache/` and the cached outputs to `.gitignore`.
fn ignore_outputs(pipeline: &pipit::pipeline::Pipeline) -> anyhow::Result<()> {
    let mut entries = vec![format!("{DOT_CACHE}/")];
    entries.extend(
        pipeline
            .stages
            .iter()
            .flat_map(|s| s.outs.iter().filter(|o| o.cache).map(|o| o.path.to_string())),
    );
    ensure_ignored(&pipeline.root, &entries)?;
    Ok(())
}

fn print_plan(printer: &Printer, plans: &[(String, Plan)], place: &dyn Fn(&str) -> &'static str) {
    for (stage, plan) in plans {
        let reasons = |reasons: &[pipit::status::Reason]| {
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        };
        let line = match plan {
            Plan::UpToDate => format!("up to date {stage}"),
            Plan::Frozen => format!("frozen     {stage}"),
            Plan::Restore { reasons: r } => {
                format!("would restore {stage} from the run cache ({})", reasons(r))
            }
            Plan::Run { reasons: r } => {
                format!("would run  {stage}{} ({})", place(stage), reasons(r))
            }
            Plan::AfterUpstream { upstream } => {
                format!("would run  {stage}{} if `{upstream}` changes its outputs", place(stage))
            }
        };
        printer.line(&line);
    }
}

/// The word the runs history gives an outcome.
fn outcome_word(outcome: &run::Outcome) -> &'static str {
    match outcome {
        run::Outcome::UpToDate => "up to date",
        run::Outcome::Frozen => "frozen",
        run::Outcome::Ran => "ran",
        run::Outcome::Restored => "restored",
        run::Outcome::OnRemote => "on remote",
        run::Outcome::Failed { .. } => "failed",
        run::Outcome::Skipped { .. } => "skipped",
        run::Outcome::Stopped => "stopped",
    }
}

/// The git commit and dirty flag, being asked of git on a thread.
type GitHead = std::thread::JoinHandle<Option<(String, bool)>>;

/// Appends the run to the runs history when it ran a stage (its record, and
/// the records the stages' commands wrote, as its trials).
fn record_run(
    pipeline: &pipit::pipeline::Pipeline,
    dot_cache: &std::path::Path,
    (time, head, seconds): (String, Option<GitHead>, f64),
    mut stages: Vec<StageRun>,
    printer: &Printer,
) -> anyhow::Result<()> {
    // The stages whose commands started: they may have written trials.
    let ran: Vec<String> = stages
        .iter()
        .filter(|s| s.outcome == "ran" || s.outcome == "failed")
        .map(|s| s.name.clone())
        .collect();
    if ran.is_empty() {
        return Ok(());
    }
    stages.retain(|s| s.outcome != "up to date");
    // Waited for only when there is something to record; asked now when no
    // stage started (one failed before its command).
    let head = match head {
        Some(asked) => asked.join().ok().flatten(),
        None => pipit::git::head(&pipeline.root),
    };
    let mut record = Record::of_repro(pipeline, (time, head), seconds, stages);
    record.name = std::env::var(super::exp::EXP_NAME_ENV).ok().filter(|n| !n.is_empty());
    let mut records = vec![record];
    for stage in &ran {
        let file = run::records_file(dot_cache, stage);
        let (trials, unreadable) = pipit::runs::trials(&file, &records[0], stage)?;
        // Taken: a later run whose stage fails before its command starts
        // must not find them again.
        pipit::cache::remove_path(&file)?;
        if unreadable > 0 {
            printer.note(&format!(
                "warning: {unreadable} line(s) stage `{}` wrote to ${} are not JSON objects; left out of the runs history",
                stage,
                pipit::runs::RECORDS_ENV
            ));
        }
        records.extend(trials);
    }
    pipit::runs::append(dot_cache, &records)?;
    Ok(())
}
