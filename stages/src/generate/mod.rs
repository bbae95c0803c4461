//! `pipit stage generate`: realistic synthetic data sets, dirty as real data is,
//! and deterministic: the same arguments give byte-identical files.
//!
//! `--drift` writes a "production" batch whose distributions are shifted in
//! documented ways (see each data set's module), for the drift stage.

mod churn;
mod credit;
mod dirt;
mod housing;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::random::{Random, Stream};
use crate::table::{Table, write};

/// Arguments of `pipit stage generate`
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Which data set to write
    #[arg(long, value_enum)]
    dataset: Dataset,
    /// How many rows [default: 20640 housing, 10000 credit, 7043 churn]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    rows: Option<u64>,
    /// Seed of the generator
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write a shifted "production" batch instead of the reference data
    #[arg(long)]
    drift: bool,
    /// Share of fraudulent transactions (credit only)
    #[arg(long, default_value_t = 0.002)]
    positive_rate: f64,
    /// Share of dirty cells (missing, outliers, misspellings, wrong types)
    #[arg(long, default_value_t = 1.0)]
    dirt: f64,
    /// Where to write (CSV, or Parquet for `.parquet`)
    #[arg(long)]
    out: PathBuf,
}

/// The data sets `generate` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// California-housing-like regression, target `MedHouseVal`
    Housing,
    /// Card transactions with rare fraud, target `is_fraud`
    Credit,
    /// Telco-like customers, target `Churn`
    Churn,
}

/// Runs `pipit stage generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<String> {
    if !(0.0..1.0).contains(&args.positive_rate) || args.positive_rate == 0.0 {
        anyhow::bail!("--positive-rate must be above 0 and below 1, not {}", args.positive_rate);
    }
    if !(0.0..=10.0).contains(&args.dirt) {
        anyhow::bail!(
            "--dirt must be between 0 and 10 (a multiple of the default share), not {}",
            args.dirt
        );
    }
    let table = generate(args);
    let mut frame = table.to_frame()?;
    write(&mut frame, &args.out)?;
    Ok(format!("wrote {} rows of {:?} data to {}", table.rows(), args.dataset, args.out.display()))
}

/// Returns the table `args` describe.
pub fn generate(args: &GenerateArgs) -> Table {
    let seed = args
        .seed
        .wrapping_mul(31)
        .wrapping_add(args.dataset as u64)
        .wrapping_add(u64::from(args.drift) << 32);
    let mut data = Random::new(seed, Stream::Data);
    let mut labels = Random::new(seed, Stream::Labels);
    let mut dirt = Random::new(seed, Stream::Dirt);
    let (mut table, spoil): (Table, fn(&mut Table, &mut Random, f64)) = match args.dataset {
        Dataset::Housing => {
            let rows = args.rows.unwrap_or(20_640) as usize;
            (housing::table(rows, args.drift, &mut data, &mut labels), housing::spoil)
        }
        Dataset::Credit => {
            let rows = args.rows.unwrap_or(10_000) as usize;
            (
                credit::table(rows, args.drift, args.positive_rate, &mut data, &mut labels),
                credit::spoil,
            )
        }
        Dataset::Churn => {
            let rows = args.rows.unwrap_or(7_043) as usize;
            (churn::table(rows, args.drift, &mut data, &mut labels), churn::spoil)
        }
    };
    if args.dirt > 0.0 {
        spoil(&mut table, &mut dirt, args.dirt);
        dirt::duplicate_rows(&mut table, &mut dirt, 0.002 * args.dirt);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dataset: Dataset, seed: u64, drift: bool) -> GenerateArgs {
        GenerateArgs {
            dataset,
            rows: Some(2000),
            seed,
            drift,
            positive_rate: 0.01,
            dirt: 1.0,
            out: PathBuf::from("unused.csv"),
        }
    }

    fn csv(args: &GenerateArgs) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut frame = generate(args).to_frame().unwrap();
        write(&mut frame, &path).unwrap();
        fs_err::read(&path).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        for dataset in [Dataset::Housing, Dataset::Credit, Dataset::Churn] {
            let first = csv(&args(dataset, 7, false));
            assert_eq!(first, csv(&args(dataset, 7, false)), "{dataset:?}");
            assert_ne!(first, csv(&args(dataset, 8, false)), "{dataset:?}");
            assert_ne!(first, csv(&args(dataset, 7, true)), "{dataset:?}");
        }
    }

    #[test]
    fn labels_have_the_documented_base_rates() {
        let share = |dataset, column: &str, positive: &str| {
            let table = generate(&GenerateArgs {
                rows: Some(20_000),
                dirt: 0.0,
                ..args(dataset, 3, false)
            });
            let values = &table.columns.iter().find(|(n, _)| n == column).unwrap().1;
            (0..table.rows()).filter(|&r| values.text(r).as_deref() == Some(positive)).count()
                as f64
                / table.rows() as f64
        };
        let churn = share(Dataset::Churn, "Churn", "Yes");
        assert!((churn - 0.26).abs() < 0.02, "churn rate {churn}");
        let fraud = share(Dataset::Credit, "is_fraud", "1");
        assert!((fraud - 0.01).abs() < 0.004, "fraud rate {fraud}");
    }

    #[test]
    fn housing_values_are_capped_like_california() {
        let table = generate(&GenerateArgs { dirt: 0.0, ..args(Dataset::Housing, 1, false) });
        let crate::table::Values::Float(values) = &table.columns.last().unwrap().1 else {
            panic!()
        };
        let values: Vec<f64> = values.iter().flatten().copied().collect();
        assert!(values.iter().all(|&v| (0.14..=5.00001).contains(&v)));
        assert!(values.contains(&5.00001), "some districts sit at the cap");
    }
}
