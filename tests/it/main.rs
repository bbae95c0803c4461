//! pipit's integration tests: the real binary in temporary git repositories.

mod architecture;
mod cli;
mod compare;
mod dag;
mod docs;
mod drift;
mod drift_integrity;
mod harness;
mod imbalance;
mod integrity;
mod metrics;
mod missing;
mod output;
mod page;
mod parser_never_panics;
mod predict;
mod prepare_integrity;
mod registry;
mod registry_integrity;
mod remote;
mod repro;
mod serve;
mod stage;
mod train_integrity;
mod tune;
mod validation;
