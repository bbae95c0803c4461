//! `pipit plots show`: the plots files the stages declare (`plots:` outs, and
//! the paths the top-level `plots:` lists), or those named, drawn into one
//! self-contained HTML page. `pipit plots diff`: the same files at several
//! git revisions (and the workspace), overlaid.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pipit::plots;
use pipit::revision::WORKSPACE;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit plots`
#[derive(Debug, Args)]
pub struct PlotsArgs {
    #[command(subcommand)]
    command: PlotsCommand,
}

#[derive(Debug, Subcommand)]
enum PlotsCommand {
    /// Draw the plots files the stages declare (`plots:` outs), or those named, into an HTML page
    Show(ShowArgs),
    /// Draw the declared plots files at several git revisions, overlaid
    Diff(DiffArgs),
}

/// Arguments of `pipit plots show`
#[derive(Debug, Args)]
struct ShowArgs {
    /// Plots files (or directories of them) to draw instead of every declared one
    targets: Vec<PathBuf>,
    /// Where to write the page
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_PAGE)]
    out: PathBuf,
}

/// Arguments of `pipit plots diff`
#[derive(Debug, Args)]
struct DiffArgs {
    /// Git revisions, or `workspace` [default: HEAD and the workspace; one
    /// revision: it and the workspace]
    revisions: Vec<String>,
    /// Draw only these plots files (or directories of them)
    #[arg(long, value_name = "PATH", num_args = 1..)]
    targets: Vec<PathBuf>,
    /// Where to write the page
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_PAGE)]
    out: PathBuf,
}

/// Where the page goes unless told (DVC writes `dvc_plots/index.html`).
const DEFAULT_PAGE: &str = "pipit_plots/index.html";

/// Runs `pipit plots`.
pub fn run(args: PlotsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let (targets, revisions, out) = match args.command {
        PlotsCommand::Show(args) => (args.targets, vec![WORKSPACE.to_owned()], args.out),
        PlotsCommand::Diff(args) => {
            let revisions = match args.revisions.len() {
                0 => vec!["HEAD".to_owned(), WORKSPACE.to_owned()],
                1 => vec![args.revisions[0].clone(), WORKSPACE.to_owned()],
                _ => args.revisions,
            };
            for rev in revisions.iter().filter(|r| *r != WORKSPACE) {
                pipit::git::verify(&loaded.pipeline.root, rev)?;
            }
            (args.targets, revisions, args.out)
        }
    };
    let root = &loaded.pipeline.root;
    let named: Vec<String> = targets
        .iter()
        .map(|t| {
            let written = t.to_string_lossy();
            pipit::dag::target_path(root, &written, &loaded.cwd)
                .map(|path| path.to_string())
                .ok_or_else(|| anyhow::anyhow!("`{written}` is outside the repository"))
        })
        .collect::<anyhow::Result<_>>()?;
    let files = workspace::open_files(root)?;
    let Some(drawn) = plots::collect::draw(&files, &loaded.pipeline, &revisions, &named)? else {
        printer.note(
            "no plots: no stage lists `plots:` outs and the top-level `plots:` lists no file \
             (name files to draw them)",
        );
        return Ok(Outcome::Success);
    };
    for path in &drawn.absent {
        let at = revisions.join(", ");
        printer.note(&format!("`{path}` is not there at {at}: its stage has not run"));
    }
    for problem in &drawn.problems {
        printer.note(&format!("error: {problem}"));
    }
    let default = out == std::path::Path::new(DEFAULT_PAGE);
    let out = loaded.cwd.join(&out);
    if let Some(parent) = out.parent() {
        fs_err::create_dir_all(parent)?;
        // The page is drawn again at will: git need not see it.
        if default && let Ok(folder) = parent.strip_prefix(root) {
            let folder = folder.to_string_lossy().replace('\\', "/");
            pipit::gitignore::ensure_ignored(root, &[folder])?;
        }
    }
    pipit::fsutil::write_atomic(&out, drawn.page.as_bytes())?;
    let shown = out.strip_prefix(&loaded.cwd).unwrap_or(&out).display().to_string();
    let count = drawn.count;
    printer.line(&format!(
        "wrote {shown}: {count} plot{} at {}",
        if count == 1 { "" } else { "s" },
        revisions.join(", ")
    ));
    Ok(if drawn.problems.is_empty() { Outcome::Success } else { Outcome::Failure })
}
