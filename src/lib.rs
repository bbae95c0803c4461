//! pipit's engine: the pipeline model, the DAG and (later) hashing, cache and
//! execution. Knows nothing about ML and never prints; the CLI in `src/cli/` does.

pub mod cache;
pub mod containment;
pub mod dag;
pub mod experiments;
pub mod fsutil;
pub mod gc;
pub mod git;
pub mod gitignore;
pub mod hash;
pub mod html;
pub mod integrity;
pub mod lockfile;
pub mod metrics;
pub mod params_set;
pub mod pipeline;
pub mod platform;
pub mod plots;
pub mod remote;
pub mod repolock;
pub mod revision;
pub mod run;
pub mod runcache;
pub mod runs;
pub mod state;
pub mod status;
pub mod tracked;
pub mod walk;
pub mod workspace;
