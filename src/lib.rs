//! pipit's engine: the pipeline model, the DAG and (later) hashing, cache and
//! execution. Knows nothing about ML and never prints; the CLI in `src/cli/` does.

pub mod dag;
pub mod pipeline;
