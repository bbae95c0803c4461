//! `pipit push`, `pipit pull` and `pipit fetch`: moving a project's objects
//! and run-cache entries to and from a remote, with a progress bar (files,
//! bytes, rate) on a terminal and a summary line.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipit::dag::Selection;
use pipit::lockfile::LockFile;
use pipit::remote::transfer::{self, Progress, Summary};
use pipit::remote::wanted::{Wanted, wanted};
use pipit::remote::{Config, Remote};
use pipit::repolock::RepoLock;

use super::{Outcome, Printer, workspace};

/// How many transfers run at once by default: object stores answer each
/// request after tens of milliseconds (a cloud bucket's round trip, or a
/// local server's delayed acknowledgement), so many small files want many
/// at once; memory is bounded apart from this (see `remote::transfer`).
pub const DEFAULT_JOBS: usize = 128;

/// Arguments of `pipit push`, `pull` and `fetch`
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Stages, families, globs, output paths or data `pipit add` tracks (`raw`,
    /// `raw.pipit`); everything when none is given
    targets: Vec<String>,
    /// The remote to use [default: the default remote]
    #[arg(short, long)]
    remote: Option<String>,
    /// How many transfers run at once
    #[arg(short, long, default_value_t = DEFAULT_JOBS as u16, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// (pull) Overwrite workspace files that the user changed
    #[arg(short, long)]
    force: bool,
}

/// Which way a transfer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Upload what the remote lacks.
    Push,
    /// Download what the local cache lacks, then place the outs.
    Pull,
    /// Download what the local cache lacks.
    Fetch,
}

/// Runs `pipit push`, `pull` or `fetch`.
pub fn run(args: TransferArgs, direction: Direction, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let Some(chosen) = loaded.select_with_tracked(&args.targets, Selection::Single, printer)?
    else {
        return Ok(Outcome::Invalid);
    };
    let files = workspace::open_files(&loaded.pipeline.root)?;
    let remote = open_remote(&files.root, args.remote.as_deref())?;
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    let wanted = carried(&loaded, &chosen.stages, &chosen.tracked, &files)?;
    let bar = Bar::new(*printer);
    let on_progress = |progress| bar.show(progress);
    let jobs = usize::from(args.jobs);
    let summary = match direction {
        Direction::Push => {
            let objects = transfer::with_manifest_files(&files, &wanted.objects);
            transfer::push(&files, &remote, &objects, &wanted.runs, jobs, &on_progress)
        }
        Direction::Pull | Direction::Fetch => {
            transfer::pull(&files, &remote, &wanted.objects, true, jobs, &on_progress)
        }
    };
    bar.finish();
    let summary = summary?;
    printer.line(&summary_line(direction, &remote, &summary));
    warn_unsigned(&remote, &summary, printer);
    for hash in &summary.missing {
        let name = wanted.names.get(hash).map(|n| format!(" (`{n}`)")).unwrap_or_default();
        let place = if direction == Direction::Push { "the local cache" } else { "the remote" };
        printer
            .note(&format!("warning: object {}{name} is not in {place}", pipit::hash::short(hash)));
    }
    if direction == Direction::Pull {
        return super::checkout::place(
            &loaded,
            &chosen.stages,
            &chosen.tracked,
            &files,
            args.force,
            printer,
        );
    }
    Ok(if summary.missing.is_empty() { Outcome::Success } else { Outcome::Failure })
}

/// The environment variable that holds the secret run-cache entries are
/// signed with.
const SIGNING_SECRET: &str = "PIPIT_RUN_CACHE_KEY";

/// Opens the remote `name` (or the default one) of the project at `root`,
/// with the environment's credentials and signing secret.
pub fn open_remote(root: &std::path::Path, name: Option<&str>) -> anyhow::Result<Remote> {
    let config = Config::load(root)?.chosen(name)?;
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.extend(aws_profile(&env));
    let remote = Remote::open(&config, root, &env)?;
    Ok(match std::env::var_os(SIGNING_SECRET).filter(|s| !s.is_empty()) {
        Some(secret) => remote.with_signing_secret(secret.as_encoded_bytes()),
        None => remote,
    })
}

/// Returns the AWS variables of the profile `AWS_PROFILE` names (or
/// `default`) in `~/.aws/credentials` and `~/.aws/config`, for those the
/// environment does not set itself.
fn aws_profile(env: &[(String, String)]) -> Vec<(String, String)> {
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if get("AWS_ACCESS_KEY_ID").is_some() {
        return Vec::new();
    }
    let home = std::path::PathBuf::from(get("HOME").unwrap_or_default()).join(".aws");
    let file = |variable: &str, name: &str| {
        let path = get(variable).map_or_else(|| home.join(name), std::path::PathBuf::from);
        fs_err::read_to_string(path).unwrap_or_default()
    };
    let profile = get("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let has_region = get("AWS_REGION").is_some() || get("AWS_DEFAULT_REGION").is_some();
    pipit::remote::profile::variables(
        &profile,
        &file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        &file("AWS_CONFIG_FILE", "config"),
    )
    .into_iter()
    .filter(|(key, _)| !(has_region && key == "AWS_REGION"))
    .collect()
}

/// Says which run-cache entries of the remote were ignored, unsigned.
pub fn warn_unsigned(remote: &Remote, summary: &Summary, printer: &Printer) {
    if !summary.unsigned.is_empty() {
        printer.note(&format!(
            "warning: ignored {} run-cache entries of remote `{}` that are not signed with \
             `{SIGNING_SECRET}`",
            summary.unsigned.len(),
            remote.name
        ));
    }
}

/// Returns what moving the `selected` stages and the `tracked` data carries:
/// the stages' outs and current run-cache entries, and the data's objects.
pub fn carried(
    loaded: &workspace::Workspace,
    selected: &std::collections::BTreeSet<usize>,
    tracked: &[pipit::lockfile::LockedPath],
    files: &pipit::workspace::Workspace,
) -> anyhow::Result<Wanted> {
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let mut wanted = wanted(&loaded.pipeline, selected, &lock, files);
    for record in tracked {
        wanted.objects.insert(record.hash.clone());
        wanted.names.entry(record.hash.clone()).or_insert_with(|| record.path.clone());
    }
    Ok(wanted)
}

/// Returns `pushed 12 objects, 3.1 MiB; 840 already there; 2 run-cache entries`.
pub fn summary_line(direction: Direction, remote: &Remote, summary: &Summary) -> String {
    let verb = match direction {
        Direction::Push => "pushed",
        Direction::Pull | Direction::Fetch => "fetched",
    };
    let place = if direction == Direction::Push { "on" } else { "from" };
    format!(
        "{verb} {} objects, {} {place} `{}`; {} already there; {} run-cache entries; {} run records",
        summary.objects,
        indicatif::HumanBytes(summary.bytes),
        remote.name,
        summary.present,
        summary.runs,
        summary.records
    )
}

/// A progress bar of files, bytes and rate on a terminal; plain lines otherwise.
struct Bar {
    bar: Option<ProgressBar>,
    printer: Printer,
    files: AtomicUsize,
    done: AtomicUsize,
    bytes: AtomicU64,
}

impl Bar {
    fn new(printer: Printer) -> Self {
        let shown = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let bar = shown.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {msg} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            printer,
            files: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn show(&self, progress: Progress) {
        match progress {
            Progress::Planned { files, bytes } => {
                self.files.fetch_add(files, Ordering::Relaxed);
                match &self.bar {
                    Some(bar) => bar.inc_length(bytes),
                    None if files > 0 => self
                        .printer
                        .note(&format!("moving {files} files, {}", indicatif::HumanBytes(bytes))),
                    None => {}
                }
            }
            Progress::Moved { bytes } => {
                let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                let moved = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
                let files = self.files.load(Ordering::Relaxed);
                match &self.bar {
                    Some(bar) => bar.inc(bytes),
                    // Without a terminal, a line at every tenth of the files.
                    None if done.is_multiple_of((files / 10).max(1)) || done == files => {
                        self.printer.note(&format!(
                            "  {done}/{files} files, {}",
                            indicatif::HumanBytes(moved)
                        ));
                    }
                    None => {}
                }
            }
        }
        if let Some(bar) = &self.bar {
            let (done, files) =
                (self.done.load(Ordering::Relaxed), self.files.load(Ordering::Relaxed));
            bar.set_message(format!("{done}/{files} files"));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
