//! The built-in ML stages of pipit (generate, prepare, train, tune, drift,
//! compare), reached through `pipit stage …`. Each stage owns its arguments;
//! the engine in `src/` knows nothing about them.

mod atomic;
mod compare;
mod curves;
mod drift;
mod generate;
mod html;
mod keyed;
mod labelled;
pub mod metrics;
pub mod model;
mod names;
mod number;
mod predict;
mod prepare;
mod random;
pub mod registry;
pub mod serve;
mod statistics;
mod table;
mod threshold;
mod train;
mod tune;
pub mod ui;

use clap::Subcommand;

/// A built-in stage and its arguments.
#[derive(Debug, Subcommand)]
pub enum StageCommand {
    /// Write a realistic synthetic data set (housing, credit fraud or churn)
    Generate(generate::GenerateArgs),
    /// Check, clean and split raw data into train.csv, test.csv and stats.json
    Prepare(prepare::PrepareArgs),
    /// Train a model on prepared data; write it and its metrics against a baseline
    Train(train::TrainArgs),
    /// Per-column drift between reference and current data (KS, chi², PSI, Wasserstein, JS)
    Drift(drift::DriftArgs),
    /// Search hyperparameters with k-fold CV: TPE (or random) sampling, median pruning
    Tune(tune::TuneArgs),
    /// Every model's metrics side by side, the best per data set (JSON, Markdown, HTML)
    Compare(compare::CompareArgs),
    /// Predict a CSV/Parquet file with a model file or a data set's current model
    Predict(predict::PredictArgs),
}

/// Runs a built-in stage; an error means the stage failed (exit code 1).
/// `default_registry` is the registry a stage uses when not told another.
pub fn run(command: StageCommand, default_registry: &std::path::Path) -> anyhow::Result<String> {
    match command {
        StageCommand::Generate(args) => generate::run(&args),
        StageCommand::Prepare(args) => prepare::run(&args),
        StageCommand::Train(args) => train::run(&args),
        StageCommand::Compare(args) => compare::run(&args),
        StageCommand::Tune(args) => tune::run(&args),
        StageCommand::Drift(args) => drift::run(&args),
        StageCommand::Predict(args) => predict::run(&args, default_registry),
    }
}
