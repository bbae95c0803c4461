//! `pipit serve`: the current model of one or more data sets behind an HTTP
//! API (axum): `GET /health`, `POST /predict[/{dataset}]` with records
//! checked against the model's training schema, `GET /metrics` in
//! Prometheus' text format. Every predicted record is appended to the
//! prediction log. SIGTERM or SIGINT stops it gracefully: requests in flight
//! finish and the log is written out.

mod log;
mod metrics;
mod routes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use crate::registry::Served;
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
    #[arg(long, value_name = "VERSION")]
    model: Option<String>,
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
}

/// Nothing can be served: exit code 2, with the command that makes a model current.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingToServe(pub String);

/// What the handlers share.
pub struct State {
    /// The models served, by data set.
    pub models: BTreeMap<String, Arc<Served>>,
    /// The counters `/metrics` shows.
    pub metrics: Metrics,
    /// Where predictions are logged.
    pub log: PredictionLog,
    /// When the server started.
    pub started: std::time::Instant,
}

/// Runs the server until SIGTERM or SIGINT; `root` is the folder of
/// pipeline.yaml (or the current one), `ready` hears what is served and where.
pub fn run(args: &ServeArgs, root: &Path, ready: &dyn Fn(&str)) -> anyhow::Result<String> {
    let registry = args.registry.clone().unwrap_or_else(|| root.join("registry"));
    let models = load(&registry, &args.datasets, args.model.as_deref())?;
    let log_path = args.log.clone().unwrap_or_else(|| root.join("logs/predictions.jsonl"));
    let log = PredictionLog::open(&log_path, args.log_max_mib.saturating_mul(1 << 20))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.addr))
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    let address = listener.local_addr()?;
    let served: Vec<String> =
        models.values().map(|m| format!("{} v{}", m.entry.dataset, m.version)).collect();
    let state = Arc::new(State {
        models,
        metrics: Metrics::default(),
        log,
        started: std::time::Instant::now(),
    });
    ready(&format!(
        "serving {} on http://{address} (predictions logged to `{}`)",
        served.join(", "),
        log_path.display()
    ));
    let app = routes::router(Arc::clone(&state));
    runtime
        .block_on(async { axum::serve(listener, app).with_graceful_shutdown(stopped()).await })?;
    drop(runtime);
    let mut state =
        Arc::try_unwrap(state).map_err(|_| anyhow::anyhow!("a request outlived the server"))?;
    state.log.close()?;
    Ok("stopped: every request in flight was answered and the log written".into())
}

/// Loads the models to serve: the current one of each data set named (or of
/// every data set with one), or version `version` of the only one named.
fn load(
    registry: &Path,
    datasets: &[String],
    version: Option<&str>,
) -> anyhow::Result<BTreeMap<String, Arc<Served>>> {
    let current = crate::registry::Registry::open(&crate::registry::Place {
        dir: registry.to_path_buf(),
        shown: registry.to_path_buf(),
    })
    .current()?;
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
                    let error = Served::current(registry, dataset).err();
                    let message = error.map(|e| format!("{e:#}")).unwrap_or_default();
                    return Err(NothingToServe(message).into());
                }
            },
        };
        models.insert(dataset.clone(), Arc::new(Served::version(registry, dataset, number)?));
    }
    Ok(models)
}

/// Resolves on SIGTERM or SIGINT.
async fn stopped() {
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
