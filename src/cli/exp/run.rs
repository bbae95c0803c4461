//! `pipit exp run`, `list`, `apply` and `remove`: experiments (see
//! [`pipit::experiments`]). An experiment runs `pipit repro` in its own
//! workspace, as a child process: at once, its output shown, or later with
//! the rest of the queue (`--run-all -j N`), its output kept in its folder.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use clap::Args;
use pipit::experiments::{Assignment, Experiment, Experiments, Status, now};

use crate::cli::{Outcome, Printer, workspace};

/// The environment variable that names the experiment a `repro` runs for,
/// so that its record in the runs history carries the name.
pub const EXP_NAME_ENV: &str = "PIPIT_EXP_NAME";

/// Arguments of `pipit exp run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A param to change, `KEY=VALUE` of `params.yaml` or `FILE:KEY=VALUE` (repeatable)
    #[arg(short = 'S', long = "set-param", value_name = "[FILE:]KEY=VALUE")]
    set: Vec<String>,
    /// The experiment's name [default: `exp-` and six hex digits]
    #[arg(short, long, conflicts_with = "run_all")]
    name: Option<String>,
    /// Queue the experiment instead of running it (`--run-all` runs the queue)
    #[arg(long, conflicts_with = "run_all")]
    queue: bool,
    /// Run every queued experiment
    #[arg(long)]
    run_all: bool,
    /// How many queued experiments run at once
    #[arg(short, long, value_name = "N", requires = "run_all", default_value_t = 1)]
    jobs: usize,
}

/// Arguments of `pipit exp list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Arguments of `pipit exp apply`
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The experiment
    name: String,
}

/// Arguments of `pipit exp remove`
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The experiments
    #[arg(required_unless_present = "queued")]
    names: Vec<String>,
    /// Remove every queued experiment
    #[arg(long)]
    queued: bool,
}

/// Runs `pipit exp run`.
pub fn run(args: RunArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let root = loaded.pipeline.root.clone();
    let files = workspace::open_files(&root)?;
    let exps = Experiments::new(&files.dot_cache);
    if args.run_all {
        if !args.set.is_empty() {
            anyhow::bail!("`--run-all` runs the queue as it is; queue changes with `--queue -S …`");
        }
        return run_queue(&exps, args.jobs.max(1), printer);
    }
    let set: Vec<Assignment> = args
        .set
        .iter()
        .map(|text| Assignment::parse(text).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let name = args.name.unwrap_or_else(|| exps.new_name());
    let experiment = exps.create(&root, &files.dot_cache, &name, &set)?;
    if args.queue {
        printer.line(&format!(
            "queued experiment `{name}`{}; `pipit exp run --run-all` runs the queue",
            changes(&experiment)
        ));
        return Ok(Outcome::Success);
    }
    printer.note(&format!("running experiment `{name}`{}", changes(&experiment)));
    exps.claim(&name)?;
    let ended = execute(&exps, experiment, false)?;
    Ok(report(&ended, printer))
}

/// ` with train.lr=0.2, …`, or nothing.
fn changes(experiment: &Experiment) -> String {
    if experiment.set.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> =
        experiment.set.iter().map(|s| s.strip_prefix("params.yaml:").unwrap_or(s)).collect();
    format!(" with {}", shown.join(", "))
}

/// Runs `pipit repro` in the experiment's workspace (its output shown, or
/// into its folder when `background`) and records how it went.
fn execute(
    exps: &Experiments,
    mut experiment: Experiment,
    background: bool,
) -> anyhow::Result<Experiment> {
    experiment.status = Status::Running;
    experiment.started = Some(now());
    experiment.pid = Some(std::process::id());
    exps.save(&experiment)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("repro")
        .current_dir(exps.work(&experiment.name))
        .env(EXP_NAME_ENV, &experiment.name)
        .stdin(Stdio::null());
    if background {
        let log = fs_err::File::create(exps.output(&experiment.name))?.into_parts().0;
        command.stdout(log.try_clone()?).stderr(log);
    }
    let status = command.status();
    experiment.finished = Some(now());
    experiment.pid = None;
    experiment.status = match status {
        Ok(status) if status.success() => Status::Succeeded,
        _ => Status::Failed,
    };
    exps.save(&experiment)?;
    Ok(experiment)
}

/// Says how an experiment ended; its outcome.
fn report(experiment: &Experiment, printer: &Printer) -> Outcome {
    let name = &experiment.name;
    if experiment.status == Status::Succeeded {
        printer.line(&format!(
            "experiment `{name}` succeeded: `pipit exp show` has its run, `pipit exp apply {name}` brings its params and outputs into the workspace"
        ));
        Outcome::Success
    } else {
        printer.line(&format!("experiment `{name}` failed"));
        Outcome::Failure
    }
}

/// Runs the queued experiments, `jobs` at once, each one's output kept in
/// its folder.
fn run_queue(exps: &Experiments, jobs: usize, printer: &Printer) -> anyhow::Result<Outcome> {
    let queued: Vec<Experiment> =
        exps.all().into_iter().filter(|e| e.status == Status::Queued).collect();
    if queued.is_empty() {
        printer.note("no experiment is queued: `pipit exp run --queue -S KEY=VALUE` queues one");
        return Ok(Outcome::Success);
    }
    printer.note(&format!(
        "running {} queued experiment(s), {} at once",
        queued.len(),
        jobs.min(queued.len())
    ));
    let waiting = Mutex::new(queued.into_iter());
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let next =
                        waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                    let Some(experiment) = next else { break };
                    let name = experiment.name.clone();
                    // Another `--run-all` may have taken it meanwhile.
                    match exps.claim(&name) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(error) => {
                            printer.note(&format!("error: experiment `{name}`: {error}"));
                            failed
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(name);
                            continue;
                        }
                    }
                    match execute(exps, experiment, true) {
                        Ok(ended) if ended.status == Status::Succeeded => {
                            printer.line(&format!("experiment `{name}` succeeded"))
                        }
                        Ok(_) => {
                            printer.line(&format!(
                                "experiment `{name}` failed: its output is in `{}`",
                                exps.output(&name).display()
                            ));
                            failed
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(name);
                        }
                        Err(error) => {
                            printer.note(&format!("error: experiment `{name}`: {error:#}"));
                            failed
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(name);
                        }
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(if failed.is_empty() { Outcome::Success } else { Outcome::Failure })
}

/// Runs `pipit exp list`.
pub fn list(args: ListArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (_, root) = workspace::current_root()?;
    let exps = Experiments::new(&root.join(pipit::workspace::DOT_CACHE)).all();
    if args.json {
        printer.out(&format!("{}\n", serde_json::to_string_pretty(&exps)?))?;
        return Ok(Outcome::Success);
    }
    if exps.is_empty() {
        printer.note("no experiments: `pipit exp run -S KEY=VALUE` runs one");
        return Ok(Outcome::Success);
    }
    let width = exps.iter().map(|e| e.name.len()).max().unwrap_or(0).max(4);
    let status = |e: &Experiment| {
        if e.status == Status::Running && !e.is_running() { "stopped" } else { e.status.word() }
    };
    let mut text = format!("{:width$}  {:9}  {:19}  changes\n", "name", "status", "created");
    for exp in &exps {
        let created: String = exp.created.replace('T', " ").chars().take(19).collect();
        let set = changes(exp);
        let set = set.strip_prefix(" with ").unwrap_or("-");
        text.push_str(&format!("{:width$}  {:9}  {created:19}  {set}\n", exp.name, status(exp)));
    }
    printer.out(&text)?;
    Ok(Outcome::Success)
}

/// Runs `pipit exp apply`: the experiment's params changes made to the
/// workspace's params files (in place, the rest of them kept), its lock
/// taken, its uncached outs copied and its cached outs placed.
pub fn apply(args: ApplyArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let root = loaded.pipeline.root.clone();
    let files = workspace::open_files(&root)?;
    let exps = Experiments::new(&files.dot_cache);
    let name = &args.name;
    let Some(experiment) = exps.get(name) else {
        anyhow::bail!("there is no experiment `{name}`; `pipit exp list` lists them");
    };
    if experiment.status != Status::Succeeded {
        anyhow::bail!(
            "experiment `{name}` is {}: only a succeeded one can be applied",
            experiment.status.word()
        );
    }
    let _lock = pipit::repolock::RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    for text in &experiment.set {
        Assignment::parse(text).map_err(anyhow::Error::msg)?.apply(&root)?;
    }
    let work = exps.work(name);
    // A stage with a persistent out keeps state across runs (a registry it
    // adds models to) that the experiment began without: its outs and lock
    // entry stay this workspace's, and the next `repro` here runs it.
    let persistent: Vec<&str> = loaded
        .pipeline
        .stages
        .iter()
        .filter(|s| s.outs.iter().any(|o| o.persist))
        .map(|s| s.name.as_str())
        .collect();
    let mine = pipit::lockfile::LockFile::read(&root, &files.dot_cache)?;
    let mut lock = pipit::lockfile::LockFile::read(&work, &work.join(pipit::workspace::DOT_CACHE))?;
    let mut kept = Vec::new();
    for stage in &persistent {
        let theirs = lock.stages.remove(*stage);
        if let Some(entry) = mine.stages.get(*stage) {
            lock.stages.insert((*stage).to_owned(), entry.clone());
        }
        if theirs.as_ref() != mine.stages.get(*stage) {
            kept.push(*stage);
        }
    }
    lock.write(&root, &files.dot_cache)?;
    let applied = loaded.pipeline.stages.iter().filter(|s| !persistent.contains(&s.name.as_str()));
    for out in applied.flat_map(|s| &s.outs).filter(|o| !o.cache) {
        let from = out.path.to_path(&work);
        if from.exists() {
            let to = out.path.to_path(&root);
            pipit::cache::remove_path(&to)?;
            copy_tree(&from, &to)?;
        }
    }
    let all: BTreeSet<usize> = (0..loaded.pipeline.stages.len()).collect();
    let placed = crate::cli::checkout::place(&loaded, &all, &[], &files, true, printer)?;
    printer.line(&format!("applied experiment `{name}`{}", changes(&experiment)));
    if !kept.is_empty() {
        printer.note(&format!(
            "kept this workspace's {}: {} persistent outs (state such as a registry, which the \
             experiment began without); `pipit repro` runs {} here",
            kept.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
            if kept.len() == 1 { "its stage has" } else { "their stages have" },
            if kept.len() == 1 { "it" } else { "them" },
        ));
    }
    Ok(placed)
}

/// Copies a file, or a folder with everything in it.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry?;
        let inside = entry.path().strip_prefix(from)?;
        let dest = if inside.as_os_str().is_empty() { to.to_path_buf() } else { to.join(inside) };
        if entry.file_type().is_dir() {
            fs_err::create_dir_all(&dest)?;
        } else {
            if let Some(parent) = dest.parent() {
                fs_err::create_dir_all(parent)?;
            }
            reflink_copy::reflink_or_copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Runs `pipit exp remove`.
pub fn remove(args: RemoveArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (_, root) = workspace::current_root()?;
    let exps = Experiments::new(&root.join(pipit::workspace::DOT_CACHE));
    let mut names = args.names.clone();
    if args.queued {
        names.extend(exps.all().into_iter().filter(|e| e.status == Status::Queued).map(|e| e.name));
    }
    for name in &names {
        match exps.get(name) {
            Some(exp) if exp.is_running() => {
                anyhow::bail!("experiment `{name}` is running; remove it once it ends")
            }
            Some(_) => exps.remove(name)?,
            None => anyhow::bail!("there is no experiment `{name}`; `pipit exp list` lists them"),
        }
    }
    printer.line(&format!("removed {} experiment(s)", names.len()));
    Ok(Outcome::Success)
}
