//! Finding the repository and loading its pipeline, with every error printed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pipit::dag::Dag;
use pipit::pipeline::{self, DVC_FILE, PIPELINE_FILE, Pipeline};

use super::Printer;

/// A loaded, valid pipeline and its DAG.
pub struct Workspace {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Its DAG.
    pub dag: Dag,
    /// The directory the command was run from.
    pub cwd: PathBuf,
}

/// What command-line targets chose.
pub struct Chosen {
    /// The stages, by index.
    pub stages: BTreeSet<usize>,
    /// The data `pipit add` tracks.
    pub tracked: Vec<pipit::lockfile::LockedPath>,
}

/// Returns the nearest directory at or above `start` that holds pipeline.yaml
/// (a folder of that name too, so that loading it says what is wrong) or
/// DVC's dvc.yaml.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(PIPELINE_FILE).exists() || dir.join(DVC_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Returns the current directory and the repository root above it.
pub fn current_root() -> anyhow::Result<(PathBuf, PathBuf)> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let Some(root) = find_root(&cwd) else {
        bail!(
            "no `{PIPELINE_FILE}` (nor DVC's `{DVC_FILE}`) in `{}` or any parent directory; \
             write one to start (docs/pipeline.md), e.g. \
             `stages: {{hello: {{cmd: echo hi > hi.txt, outs: [hi.txt]}}}}`, then `pipit repro`",
            cwd.display()
        );
    };
    Ok((cwd, root))
}

/// Loads the pipeline around the current directory; `Ok(None)` when it is invalid
/// (the errors are printed).
pub fn load(printer: &Printer) -> anyhow::Result<Option<Workspace>> {
    let (cwd, root) = current_root()?;
    open_beside(&root);
    let loaded = pipeline::load_with(&root, limits()?).and_then(|pipeline| {
        let dag = Dag::build(&pipeline)?;
        Ok(Workspace { pipeline, dag, cwd })
    });
    match loaded {
        Ok(workspace) => Ok(Some(workspace)),
        Err(errors) => {
            for error in &errors {
                printer.diagnostic(error);
            }
            if errors.len() > 1 {
                let file = pipeline::file_in(&root);
                printer.note(&format!("error: `{file}` has {} errors", errors.len()));
            }
            Ok(None)
        }
    }
}

/// Returns the limits on a pipeline's size, `PIPIT_MAX_STAGES` included.
fn limits() -> anyhow::Result<pipeline::Limits> {
    let mut limits = pipeline::Limits::default();
    if let Some(text) = std::env::var_os("PIPIT_MAX_STAGES") {
        let text = text.to_string_lossy();
        limits.max_stages = text.parse().ok().filter(|&n| n > 0).with_context(|| {
            format!("`PIPIT_MAX_STAGES` is `{text}`; use a whole number of stages above 0")
        })?;
    }
    Ok(limits)
}

impl Workspace {
    /// Returns the stages that `targets` select, printing the error for an unknown one.
    /// Selects the stages `targets` name and the data `pipit add` tracks
    /// that they name (`raw`, or its record `raw.pipit`) or that those
    /// stages read; with no targets, every stage and all tracked data.
    /// `None` when a target names nothing (said on `printer`).
    pub fn select_with_tracked(
        &self,
        targets: &[String],
        selection: pipit::dag::Selection,
        printer: &Printer,
    ) -> anyhow::Result<Option<Chosen>> {
        let root = &self.pipeline.root;
        if targets.is_empty() {
            let Some(stages) = self.select(targets, selection, printer) else {
                return Ok(None);
            };
            return Ok(Some(Chosen { stages, tracked: pipit::tracked::all(root)? }));
        }
        let mut named = Vec::new();
        let mut rest = Vec::new();
        for target in targets {
            let written = target.strip_suffix(pipit::tracked::SUFFIX).unwrap_or(target);
            let record = match pipit::dag::target_path(root, written, &self.cwd) {
                Some(path) if !path.as_str().is_empty() => {
                    pipit::tracked::read(root, path.as_str())?
                }
                _ => None,
            };
            match record {
                Some(record) => named.push(record),
                None => rest.push(target.clone()),
            }
        }
        let stages = if rest.is_empty() {
            BTreeSet::new()
        } else {
            let Some(stages) = self.select(&rest, selection, printer) else {
                return Ok(None);
            };
            stages
        };
        let mut tracked = pipit::tracked::of_deps(&self.pipeline, Some(&stages))?;
        for record in named {
            if !tracked.iter().any(|t| t.path == record.path) {
                tracked.push(record);
            }
        }
        Ok(Some(Chosen { stages, tracked }))
    }

    pub fn select(
        &self,
        targets: &[String],
        selection: pipit::dag::Selection,
        printer: &Printer,
    ) -> Option<BTreeSet<usize>> {
        match self.dag.select(&self.pipeline, targets, selection, &self.cwd) {
            Ok(selected) => Some(selected),
            Err(error) => {
                printer.diagnostic(&error);
                None
            }
        }
    }
}

/// The repository's files being opened on a thread of their own while the
/// pipeline is parsed (see [`load`]): reading the stat cache takes about as
/// long as the parse (a millisecond for 5,000 files).
type Opening = Option<(PathBuf, std::thread::JoinHandle<pipit::workspace::Workspace>)>;
static OPENING: std::sync::Mutex<Opening> = std::sync::Mutex::new(None);

/// Starts opening the files under `root` beside whatever comes next.
fn open_beside(root: &Path) {
    let at = root.to_path_buf();
    let open = move || pipit::workspace::Workspace::open(&at);
    if let Ok(thread) = std::thread::Builder::new().name("pipit-open".into()).spawn(open)
        && let Ok(mut opening) = OPENING.lock()
    {
        *opening = Some((root.to_path_buf(), thread));
    }
}

/// The repository's files under `root`: those [`load`] started opening, or
/// opened now.
pub fn opened(root: &Path) -> pipit::workspace::Workspace {
    let started = OPENING.lock().ok().and_then(|mut opening| opening.take());
    match started {
        Some((at, thread)) if at == root => {
            thread.join().unwrap_or_else(|_| pipit::workspace::Workspace::open(root))
        }
        _ => pipit::workspace::Workspace::open(root),
    }
}

/// Opens the repository's files with the link mode of `PIPIT_CACHE_LINK`
/// (`reflink-or-copy`, the default, or `hardlink`).
pub fn open_files(root: &Path) -> anyhow::Result<pipit::workspace::Workspace> {
    use pipit::cache::LinkMode;
    let mut files = opened(root);
    files.link = match std::env::var("PIPIT_CACHE_LINK").ok().as_deref() {
        None | Some("" | "reflink-or-copy" | "copy") => LinkMode::ReflinkOrCopy,
        Some("hardlink") => LinkMode::Hardlink,
        Some(other) => {
            bail!("`PIPIT_CACHE_LINK` is `{other}`; use `reflink-or-copy` or `hardlink`")
        }
    };
    Ok(files)
}
