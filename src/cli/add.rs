//! `pipit add`: track data that no stage produces. The data goes into the
//! cache, a record `PATH.pipit` that git versions says which bytes it is, and
//! PATH goes into `.gitignore`; `push`, `pull` and `checkout` carry it.

use anyhow::{Context, bail};
use clap::Args;
use pipit::gitignore::ensure_ignored;
use pipit::pipeline::paths::{RepoPath, Resolved, resolve};
use pipit::repolock::RepoLock;
use pipit::tracked::{self, SUFFIX};

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Files or folders to track
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Runs `pipit add`.
pub fn run(args: AddArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let files = workspace::open_files(&loaded.pipeline.root)?;
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    let base = loaded.cwd.strip_prefix(&files.root).unwrap_or(std::path::Path::new(""));
    let base = RepoPath::from_normalised(&base.to_string_lossy().replace('\\', "/"));
    for written in &args.paths {
        let path = match resolve(&files.root, &base, written.trim_end_matches('/')) {
            Resolved::Inside(path) if !path.as_str().is_empty() => path,
            _ => bail!("`{written}` is not inside the repository"),
        };
        let producer =
            loaded.pipeline.stages.iter().find(|s| {
                s.outs.iter().any(|o| o.path.is_within(&path) || path.is_within(&o.path))
            });
        if let Some(stage) = producer {
            bail!("`{path}` is an output of stage `{}`: the stage tracks it already", stage.name);
        }
        if path.as_str().ends_with(SUFFIX)
            || path.as_str().split('/').any(|p| p == ".git" || p == ".cache")
        {
            bail!("`{path}` is one of pipit's or git's own files");
        }
        files.check_writable(path.as_str())?;
        let committed = files
            .commit(&path.to_path(&files.root), path.as_str())
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_context(|| format!("`{path}` does not exist"))?;
        tracked::write(&files.root, &committed.locked)?;
        ensure_ignored(&files.root, &[path.to_string()])?;
        let what = match committed.locked.nfiles {
            Some(n) => format!("{n} files, {}", indicatif::HumanBytes(committed.locked.size)),
            None => indicatif::HumanBytes(committed.locked.size).to_string(),
        };
        printer.line(&format!("added `{path}` ({what}): commit `{path}{SUFFIX}`"));
    }
    files.save_state()?;
    Ok(Outcome::Success)
}
