//! `pipit ui`: a local web page of the project, served by pipit: the runs
//! history (sorted and filtered in the page), a metric charted across runs,
//! one run's params, metrics, stages and trials, the registry (each data
//! set's current model, every version, the promote/rollback history) and the
//! HTML reports the stages wrote. Nothing is fetched from elsewhere: the
//! styles and the small sorting and filtering script are inline.

mod pages;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use serde_json::Value;

use crate::registry::{Place, Registry};

/// Arguments of `pipit ui`
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Where to listen
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The registry to show [default: `registry/` beside pipeline.yaml]
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

/// Reads the runs history's records, oldest first (at every request, so the
/// page shows runs made while it is served).
pub type RunsSource = Box<dyn Fn() -> anyhow::Result<Vec<Value>> + Send + Sync>;

/// Draws the project's plots at a git revision (or `workspace`) as a whole
/// page; `None` when the pipeline declares none.
pub type PlotsSource = Box<dyn Fn(&str) -> anyhow::Result<Option<String>> + Send + Sync>;

/// What the pages are made from.
struct Sources {
    runs: RunsSource,
    plots: PlotsSource,
    registry: Place,
    root: PathBuf,
}

/// Serves the pages until SIGTERM or SIGINT; `say` hears where.
pub fn run(
    args: &UiArgs,
    root: &Path,
    (runs, plots): (RunsSource, PlotsSource),
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let dir = args.registry.clone().unwrap_or_else(|| root.join("registry"));
    let registry = Place::at(&dir);
    let sources = Arc::new(Sources { runs, plots, registry, root: root.to_path_buf() });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.addr))
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    say(&format!("pipit ui on http://{}", listener.local_addr()?));
    let app = Router::new()
        .route("/", get(runs_page))
        .route("/runs/{id}", get(run_page))
        .route("/charts", get(chart_page))
        .route("/registry", get(registry_page))
        .route("/plots", get(plots_page))
        .route("/reports/{*path}", get(report))
        .with_state(sources);
    runtime.block_on(async {
        axum::serve(listener, app).with_graceful_shutdown(crate::serve::stopped()).await
    })?;
    Ok(())
}

/// A page, or an error page with its status.
fn answer(page: anyhow::Result<String>) -> Response {
    match page {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Html(pages::error(&format!("{error:#}"))))
                .into_response()
        }
    }
}

async fn runs_page(State(sources): State<Arc<Sources>>) -> Response {
    answer((sources.runs)().map(|runs| pages::runs(&runs)))
}

async fn run_page(State(sources): State<Arc<Sources>>, UrlPath(id): UrlPath<String>) -> Response {
    let runs = match (sources.runs)() {
        Ok(runs) => runs,
        Err(error) => return answer(Err(error)),
    };
    match pages::run(&runs, &id) {
        Some(html) => Html(html).into_response(),
        None => (StatusCode::NOT_FOUND, Html(pages::error(&format!("there is no run `{id}`"))))
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ChartQuery {
    metric: Option<String>,
}

async fn chart_page(
    State(sources): State<Arc<Sources>>,
    Query(query): Query<ChartQuery>,
) -> Response {
    answer((sources.runs)().map(|runs| pages::chart(&runs, query.metric.as_deref())))
}

#[derive(serde::Deserialize)]
struct PlotsQuery {
    rev: Option<String>,
}

/// The plots at a revision (`?rev=`), or in the workspace.
async fn plots_page(
    State(sources): State<Arc<Sources>>,
    Query(query): Query<PlotsQuery>,
) -> Response {
    let rev = query.rev.unwrap_or_else(|| "workspace".to_owned());
    let page = tokio::task::block_in_place(|| (sources.plots)(&rev));
    match page {
        Ok(Some(html)) => Html(pages::with_nav(&html)).into_response(),
        Ok(None) => Html(pages::error("the pipeline declares no plots")).into_response(),
        Err(error) => {
            (StatusCode::NOT_FOUND, Html(pages::error(&format!("{error:#}")))).into_response()
        }
    }
}

async fn registry_page(State(sources): State<Arc<Sources>>) -> Response {
    let registry = Registry::open(&sources.registry);
    let page = (|| {
        let entries = registry.entries()?;
        let current = registry.current()?;
        Ok(pages::registry(&entries, &current, &registry.events()?, &reports(&sources.root)))
    })();
    answer(page)
}

/// The HTML reports under `reports/`, relative to it.
fn reports(root: &Path) -> Vec<String> {
    let dir = root.join("reports");
    let mut found: Vec<String> = walk(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .filter_map(|p| Some(p.strip_prefix(&dir).ok()?.to_string_lossy().replace('\\', "/")))
        .collect();
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(dir) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Serves an HTML report from `reports/` (nothing outside it).
async fn report(State(sources): State<Arc<Sources>>, UrlPath(path): UrlPath<String>) -> Response {
    let missing = || {
        (StatusCode::NOT_FOUND, Html(pages::error(&format!("there is no report `{path}`"))))
            .into_response()
    };
    let safe = path.ends_with(".html")
        && path.split('/').all(|part| !part.is_empty() && part != ".." && part != ".");
    if !safe {
        return missing();
    }
    // Nothing outside `reports/`, even through a link.
    let reports = sources.root.join("reports");
    let inside = match (fs_err::canonicalize(&reports), fs_err::canonicalize(reports.join(&path))) {
        (Ok(dir), Ok(file)) if file.starts_with(&dir) && file.is_file() => file,
        _ => return missing(),
    };
    match tokio::fs::read(&inside).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response(),
        Err(_) => missing(),
    }
}
