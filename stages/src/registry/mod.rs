//! `pipit model …`: the model registry and its deployment gate. `register`
//! records a trained model with its metrics and the gate's verdict and, with
//! `--promote auto`, makes an accepted model current when it is at least as
//! good as the current one; `promote` and `rollback` move `current` by hand,
//! only ever to an accepted model.

mod gate;
mod listing;
mod metrics_file;
mod receipt;
mod served;
mod store;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::model;
use crate::number::Fixed;
pub use gate::Gate;
use listing::{ListArgs, ShowArgs};
use metrics_file::MetricsFile;
pub use served::{Served, no_current_model};
use store::Stored;
pub use store::{Entry, Place, Registry, Status};

/// Arguments of `pipit model`
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The registry folder [default: `registry/` beside pipeline.yaml]
    #[arg(long, global = true, value_name = "DIR")]
    pub registry: Option<PathBuf>,
    #[command(subcommand)]
    command: ModelCommand,
}

/// A registry command.
#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Record a trained model and the gate's verdict; make it current if it is accepted and no worse
    Register(RegisterArgs),
    /// List the registered models
    List(ListArgs),
    /// Show one registered model
    Show(ShowArgs),
    /// Make an accepted model current for its data set
    Promote(PromoteArgs),
    /// Make the previous accepted model (or `--to VERSION`) current again
    Rollback(RollbackArgs),
}

/// When `register` makes a model current.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Promote {
    /// When it is accepted and its key metric is at least the current model's
    Auto,
    /// Never; use `pipit model promote`
    Never,
}

#[derive(Debug, Args)]
struct RegisterArgs {
    /// The data set the model serves
    #[arg(long)]
    dataset: String,
    /// The model file `pipit stage train` wrote
    #[arg(long)]
    model: PathBuf,
    /// The metrics file `pipit stage train` wrote with it
    #[arg(long)]
    metrics: PathBuf,
    /// When to make it current
    #[arg(long, value_enum, default_value_t = Promote::Auto)]
    promote: Promote,
    /// Also write which version the model file is, into this JSON file (the
    /// entries of other model files in it are kept): an out for a pipeline
    /// stage that registers models
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PromoteArgs {
    /// The version (`3` or `v3`)
    #[arg(value_name = "VERSION")]
    number: String,
}

#[derive(Debug, Args)]
struct RollbackArgs {
    /// The data set to roll back (needed when several have a current model)
    #[arg(long)]
    dataset: Option<String>,
    /// The version to go back to [default: the newest accepted one older than the current]
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
}

/// Runs `pipit model …`; `default_registry` is used without `--registry`.
pub fn run(args: ModelArgs, default_registry: &Path) -> anyhow::Result<String> {
    let dir = match args.registry {
        Some(dir) => Place::at(&dir),
        None => Place {
            dir: default_registry.to_path_buf(),
            shown: default_registry.file_name().map_or_else(PathBuf::new, PathBuf::from),
        },
    };
    match args.command {
        ModelCommand::Register(args) => {
            let (message, entry) = register(&dir, &args)?;
            if let Some(path) = &args.receipt {
                receipt::record(path, &args.model, &entry)?;
            }
            Ok(message)
        }
        ModelCommand::List(args) => listing::list(&dir, &args),
        ModelCommand::Show(args) => listing::show(&dir, &args),
        ModelCommand::Promote(args) => {
            let registry = Registry::lock(&dir)?;
            let entry = find(&registry, &args.number)?;
            make_current(&registry, &entry, "promote")
        }
        ModelCommand::Rollback(args) => rollback(&dir, &args),
    }
}

/// Registers a model; returns what happened and the model's entry.
fn register(dir: &Place, args: &RegisterArgs) -> anyhow::Result<(String, Entry)> {
    let bytes = fs_err::read(&args.model)?;
    let measured = MetricsFile::read(&args.metrics)?;
    let model_blake3 = model::digest(&bytes);
    let registry = Registry::lock(dir)?;
    let entries = registry.entries()?;
    // A model registered before is known by its hash: no need to parse it again
    // (the demo registers every model on every run; a forest is tens of MB).
    if let Some(known) =
        entries.iter().find(|e| e.model_blake3 == model_blake3 && e.dataset == args.dataset)
    {
        measured.check(&known.model, known.task, &model_blake3, &args.model)?;
        let message = registered_again(&registry, known, &bytes, &args.model)?;
        return Ok((message, known.clone()));
    }
    let trained = model::parse(&bytes, &args.model)?;
    measured.check(trained.kind.name(), trained.task, &model_blake3, &args.model)?;
    let MetricsFile { metrics, baseline, gate, .. } = measured;
    let status = if gate.accepted { Status::Accepted } else { Status::Rejected };
    let entry = Entry {
        version: entries.last().map_or(1, |e| e.version + 1),
        time: store::now(),
        dataset: args.dataset.clone(),
        model: trained.kind.name().to_owned(),
        task: trained.task,
        target: trained.target.clone(),
        params: trained.params.clone(),
        metrics,
        baseline,
        gate,
        status,
        model_blake3,
        data: trained.data.clone().unwrap_or(Value::Null),
        source: args.model.display().to_string(),
    };
    registry.add(&entry, &bytes)?;
    let mut message = format!(
        "registered {} {} as v{}: {}",
        entry.dataset,
        entry.model,
        entry.version,
        verdict(&entry)
    );
    let current = registry.current()?.get(&entry.dataset).copied();
    let champion = current.and_then(|v| entries.iter().find(|e| e.version == v));
    let better = champion.is_none_or(|c| c.gate.metric != entry.gate.metric || entry.at_least(c));
    match (entry.status, args.promote, champion) {
        (Status::Rejected, ..) => {
            let _ = write!(message, "; not current");
        }
        (Status::Accepted, Promote::Auto, _) if better => {
            registry.set_current(&entry, "register")?;
            let _ = write!(message, "; now current for {}", entry.dataset);
        }
        (Status::Accepted, Promote::Auto, Some(c)) => {
            let _ = write!(
                message,
                "; v{} stays current ({} {:.4} against {:.4})",
                c.version,
                c.gate.metric,
                Fixed(c.gate.value),
                Fixed(entry.gate.value)
            );
        }
        (Status::Accepted, _, _) => {
            let _ = write!(message, "; promote it with `pipit model promote {}`", entry.version);
        }
    }
    Ok((message, entry))
}

/// Returns what registering `model` (the file at `path`) again did: nothing,
/// unless the registry's copy was lost, which the file, byte for byte the
/// registered one, restores.
fn registered_again(
    registry: &Registry,
    known: &Entry,
    model: &[u8],
    path: &Path,
) -> anyhow::Result<String> {
    let mut message = format!(
        "`{}` is already registered as v{} ({})",
        path.display(),
        known.version,
        known.status.name()
    );
    let stored = registry.stored_model(known)?;
    if stored != Stored::Intact {
        registry.restore_model(known, model)?;
        let _ = write!(
            message,
            "; restored its model file `{}`, which was {}",
            registry.shown_model_path(known.version).display(),
            if stored == Stored::Missing { "missing" } else { "damaged" }
        );
    }
    Ok(message)
}

/// Returns "accepted (r2 0.8068 ≥ 0.6000, baseline -0.0001)" or why it was rejected.
fn verdict(entry: &Entry) -> String {
    format!("{} ({})", entry.status.name(), entry.gate.reason())
}

/// Parses `3` or `v3`.
fn parse_version(text: &str) -> anyhow::Result<u64> {
    text.trim()
        .trim_start_matches(['v', 'V'])
        .parse()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a model version (write it as `3` or `v3`)"))
}

fn find(registry: &Registry, text: &str) -> anyhow::Result<Entry> {
    let version = parse_version(text)?;
    let entries = registry.entries()?;
    entries.iter().find(|e| e.version == version).cloned().ok_or_else(|| {
        let known = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => format!("it has v{} to v{}", first.version, last.version),
            _ => "it is empty".to_owned(),
        };
        anyhow::anyhow!(
            "the registry `{}` has no model v{version}: {known}",
            registry.shown().display()
        )
    })
}

fn make_current(registry: &Registry, entry: &Entry, action: &str) -> anyhow::Result<String> {
    if entry.status == Status::Rejected {
        bail!(
            "v{} ({} {}) was rejected by the gate: {}; only an accepted model can become current",
            entry.version,
            entry.dataset,
            entry.model,
            entry.gate.reason()
        );
    }
    check_stored(registry, entry)?;
    let current = registry.current()?.get(&entry.dataset).copied();
    if current == Some(entry.version) {
        return Ok(format!("v{} is already current for {}", entry.version, entry.dataset));
    }
    registry.set_current(entry, action)?;
    let was = current.map(|v| format!(" (was v{v})")).unwrap_or_default();
    Ok(format!("v{} ({}) is now current for {}{was}", entry.version, entry.model, entry.dataset))
}

/// Fails unless `entry`'s stored model file is the one registered, so that a
/// model that cannot be served never becomes current.
fn check_stored(registry: &Registry, entry: &Entry) -> anyhow::Result<()> {
    let state = match registry.stored_model(entry)? {
        Stored::Intact => return Ok(()),
        Stored::Missing => "is missing",
        Stored::Damaged => {
            "does not match the BLAKE3 recorded when it was registered (it is truncated or \
             was changed)"
        }
    };
    bail!(
        "v{} cannot become current: its model file `{}` {state}; register the model it \
         came from (`{}`) again to restore it, or choose another version",
        entry.version,
        registry.shown_model_path(entry.version).display(),
        entry.source
    )
}

fn rollback(dir: &Place, args: &RollbackArgs) -> anyhow::Result<String> {
    let registry = Registry::lock(dir)?;
    if let Some(to) = &args.to {
        let entry = find(&registry, to)?;
        if let Some(dataset) = args.dataset.as_ref().filter(|d| **d != entry.dataset) {
            bail!("v{} is a {} model, not a {dataset} one", entry.version, entry.dataset);
        }
        return make_current(&registry, &entry, "rollback");
    }
    let current = registry.current()?;
    let dataset = match &args.dataset {
        Some(dataset) => dataset.clone(),
        None if current.len() == 1 => current.keys().next().cloned().unwrap_or_default(),
        None if current.is_empty() => bail!("no data set has a current model to roll back"),
        None => bail!(
            "several data sets have a current model ({}): name one with --dataset",
            current.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    let Some(&now) = current.get(&dataset) else {
        bail!("{dataset} has no current model to roll back");
    };
    let entries = registry.entries()?;
    let Some(previous) = entries
        .iter()
        .rev()
        .find(|e| e.dataset == dataset && e.version < now && e.status == Status::Accepted)
    else {
        bail!("{dataset} has no accepted model older than v{now} to roll back to");
    };
    make_current(&registry, previous, "rollback")
}
