//! `pipit serve`: the current model of one or more data sets behind an HTTP
//! API (axum): `GET /health`, `POST /predict[/{dataset}]` with records
//! checked against the model's training schema, `GET /metrics` in
//! Prometheus' text format. Every predicted record is appended to the
//! prediction log. SIGTERM or SIGINT stops it gracefully: requests in flight
//! finish and the log is written out.

mod deploy;
mod drift;
mod log;
mod metrics;
mod openapi;
mod routes;
mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use clap::Args;

use crate::registry::{Place, Registry, Served, no_current_model};
use deploy::Deployment;
pub use log::PredictionLog;
use metrics::Metrics;

/// Arguments of `pipit serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A data set whose current model to serve (repeatable) [default: every
    /// data set with a current model]
    #[arg(long = "dataset", value_name = "NAME")]
    datasets: Vec<String>,
    /// Serve this version instead of the current one (one data set only)
    #[arg(long, value_name = "VERSION", conflicts_with = "split")]
    model: Option<String>,
    /// Split one data set's requests between versions, as `v3=0.9,v4=0.1`;
    /// the `X-Split-Key` header (else the request id) picks the version,
    /// the same key always the same one
    #[arg(long, value_name = "VERSION=SHARE,…")]
    split: Option<String>,
    /// The address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// The registry folder [default: `registry/` beside pipeline.yaml]
    #[arg(long, value_name = "DIR")]
    registry: Option<PathBuf>,
    /// The prediction log [default: `logs/predictions.jsonl` beside pipeline.yaml]
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Start a new log file past this size (the old ones are kept as `.1` … `.5`)
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    log_max_mib: u64,
    /// A data set's training data, for drift in /metrics (repeatable)
    /// [default: `data/DATASET/prepared/train.csv` when it exists]
    #[arg(long = "reference", value_name = "DATASET=FILE")]
    references: Vec<String>,
    /// How many of the latest records of a data set are compared for drift
    #[arg(long, value_name = "RECORDS", default_value_t = 500)]
    drift_window: usize,
    /// How often drift is measured
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    drift_every: f64,
}

/// How long requests in flight may take to finish once the server is told to stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Nothing can be served: exit code 2, with the command that makes a model current.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingToServe(pub String);

/// What the handlers share.
pub struct State {
    /// What answers each data set; replaced whole when the registry's
    /// `current` changes.
    pub models: RwLock<BTreeMap<String, Arc<Deployment>>>,
    /// The counters `/metrics` shows.
    pub metrics: Metrics,
    /// Where predictions are logged.
    pub log: PredictionLog,
    /// When the server started.
    pub started: std::time::Instant,
    /// The latest records of each data set, for drift.
    pub windows: drift::Windows,
    /// The data sets whose drift is measured (those with training data).
    pub monitored: std::collections::BTreeSet<String>,
    /// The latest predictions, newest first, for the page.
    pub recent: std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>,
}

/// Runs the server until SIGTERM or SIGINT; `root` is the folder of
/// pipeline.yaml (or the current one), `ready` hears what is served and where.
pub fn run(args: &ServeArgs, root: &Path, say: &(dyn Fn(&str) + Sync)) -> anyhow::Result<String> {
    let registry = args.registry.clone().unwrap_or_else(|| root.join("registry"));
    let models = match &args.split {
        Some(split) => split_deployment(&registry, &args.datasets, split)?,
        None => load(&registry, &args.datasets, args.model.as_deref())?,
    };
    if !(args.drift_every > 0.0 && args.drift_every <= 86_400.0) {
        anyhow::bail!("`--drift-every` must be a number of seconds above 0, at most a day");
    }
    if args.drift_window < drift::MIN_RECORDS {
        anyhow::bail!("`--drift-window` must be at least {} records", drift::MIN_RECORDS);
    }
    let names: Vec<String> = models.keys().cloned().collect();
    let references: Vec<(String, PathBuf, String)> =
        drift::references(&args.references, root, &names)?
            .into_iter()
            .filter_map(|(dataset, file)| {
                let target = models.get(&dataset)?.primary().entry.target.clone();
                Some((dataset, file, target))
            })
            .collect();
    let references = drift::load(references, say);
    let log_path = args.log.clone().unwrap_or_else(|| root.join("logs/predictions.jsonl"));
    let log = PredictionLog::open(&log_path, args.log_max_mib.saturating_mul(1 << 20))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.addr))
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    let address = listener.local_addr()?;
    let served: Vec<String> = models.iter().map(|(dataset, d)| described(dataset, d)).collect();
    let state = Arc::new(State {
        models: RwLock::new(models),
        metrics: Metrics::default(),
        log,
        started: std::time::Instant::now(),
        recent: std::sync::Mutex::default(),
        windows: drift::Windows::new(args.drift_window),
        monitored: references.iter().map(|r| r.dataset.clone()).collect(),
    });
    say(&format!(
        "serving {} on http://{address} (predictions logged to `{}`)",
        served.join(", "),
        log_path.display()
    ));
    let app = routes::router(Arc::clone(&state));
    runtime.block_on(async {
        // An answer goes out as soon as it is written, not after the
        // client acknowledges the previous one (Nagle's algorithm).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let stopping = Arc::new(tokio::sync::Notify::new());
        let told = Arc::clone(&stopping);
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            stopped().await;
            told.notify_one();
        });
        let every = std::time::Duration::from_secs_f64(args.drift_every);
        // Requests in flight get a grace period; a second signal, or a
        // connection that never finishes its request, does not hold the
        // server past it.
        let deadline = async {
            stopping.notified().await;
            tokio::select! {
                () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
                () = stopped() => {}
            }
            say("warning: stopped with requests still open");
        };
        tokio::select! {
            served = server => served,
            () = deadline => Ok(()),
            () = watch::follow(&state, &registry, say) => Ok(()),
            () = drift::monitor(&state, &references, every) => Ok(()),
        }
    })?;
    drop(runtime);
    let mut state =
        Arc::try_unwrap(state).map_err(|_| anyhow::anyhow!("a request outlived the server"))?;
    state.log.close()?;
    Ok("stopped: every request in flight was answered and the log written".into())
}

/// Returns `churn v3`, or `churn v3 (90%) + v4 (10%)`.
fn described(dataset: &str, deployment: &Deployment) -> String {
    match deployment.arms.as_slice() {
        [only] => format!("{dataset} v{}", only.served.version),
        arms => {
            let parts: Vec<String> = arms
                .iter()
                .map(|a| format!("v{} ({:.0}%)", a.served.version, a.share * 100.0))
                .collect();
            format!("{dataset} {}", parts.join(" + "))
        }
    }
}

/// Returns the registry's current version per data set.
fn current(registry: &Path) -> anyhow::Result<BTreeMap<String, u64>> {
    Registry::open(&Place::at(registry)).current()
}

/// Loads the A/B split `written` (one data set's versions).
fn split_deployment(
    registry: &Path,
    datasets: &[String],
    written: &str,
) -> anyhow::Result<BTreeMap<String, Arc<Deployment>>> {
    let arms = deploy::parse_split(written)?;
    let entries = Registry::open(&Place::at(registry)).entries()?;
    let dataset_of = |version: u64| {
        entries.iter().find(|e| e.version == version).map(|e| e.dataset.clone()).ok_or_else(|| {
            anyhow::anyhow!("`--split`: `{}` has no model v{version}", registry.display())
        })
    };
    let dataset = dataset_of(arms[0].0)?;
    if datasets.len() > 1 || datasets.first().is_some_and(|d| *d != dataset) {
        anyhow::bail!("`--split` serves one data set, `{dataset}`: name only it with `--dataset`");
    }
    let mut loaded = Vec::new();
    for (version, share) in arms {
        if dataset_of(version)? != dataset {
            anyhow::bail!("`--split`: v{version} does not serve `{dataset}`");
        }
        let served = Arc::new(Served::version(registry, &dataset, version)?);
        loaded.push(deploy::Arm { served, share });
    }
    let deployment = Deployment { arms: loaded, follows_current: false };
    Ok(BTreeMap::from([(dataset, Arc::new(deployment))]))
}

/// Loads the models to serve: the current one of each data set named (or of
/// every data set with one), or version `version` of the only one named.
fn load(
    registry: &Path,
    datasets: &[String],
    version: Option<&str>,
) -> anyhow::Result<BTreeMap<String, Arc<Deployment>>> {
    let current = current(registry)?;
    let datasets: Vec<String> =
        if datasets.is_empty() { current.keys().cloned().collect() } else { datasets.to_vec() };
    if datasets.is_empty() {
        return Err(NothingToServe(format!(
            "no data set has a current model in `{}`: run `pipit repro` (the demo registers \
             its models), or `pipit model register --dataset NAME --model M --metrics X`",
            registry.display()
        ))
        .into());
    }
    if version.is_some() && datasets.len() > 1 {
        anyhow::bail!("`--model` picks the version of one data set: name it with `--dataset`");
    }
    let mut models = BTreeMap::new();
    for dataset in &datasets {
        let number = match version {
            Some(v) => v
                .trim_start_matches('v')
                .parse()
                .map_err(|_| anyhow::anyhow!("`--model {v}` is not a version (`3` or `v3`)"))?,
            None => match current.get(dataset) {
                Some(&number) => number,
                None => {
                    let message = no_current_model(registry, dataset, &current);
                    return Err(NothingToServe(message).into());
                }
            },
        };
        let served = Served::version(registry, dataset, number)?;
        models.insert(dataset.clone(), Arc::new(Deployment::single(served, version.is_none())));
    }
    Ok(models)
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
