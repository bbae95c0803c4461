//! `pipit stage predict`: batch predictions of a saved model, or of the
//! registry's current model for a data set, on a CSV or Parquet file. Rows
//! are checked as serving checks a record; one bad row fails the stage with
//! every problem named and nothing written.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::model::{Task, TrainedModel, schema};
use crate::prepare::read::read;
use crate::registry::Served;
use crate::table::{Table, Values};

/// At most this many bad rows are named in an error.
const SHOWN_PROBLEMS: usize = 20;

/// Arguments of `pipit stage predict`
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model file `pipit stage train` wrote
    #[arg(long, conflicts_with = "dataset", required_unless_present = "dataset")]
    model: Option<PathBuf>,
    /// Use the registry's current model for this data set
    #[arg(long)]
    dataset: Option<String>,
    /// The registry folder [default: `registry/` beside pipeline.yaml]
    #[arg(long, value_name = "DIR")]
    registry: Option<PathBuf>,
    /// The rows to predict (CSV or Parquet); other columns than the model's are ignored
    #[arg(long)]
    data: PathBuf,
    /// Where to write the predictions (CSV, or Parquet for `.parquet`)
    #[arg(long)]
    out: PathBuf,
    /// A column of the data to copy into the output first (a row id)
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
}

/// Runs `pipit stage predict`; `default_registry` is `registry/` beside pipeline.yaml.
pub fn run(args: &PredictArgs, default_registry: &Path) -> anyhow::Result<String> {
    let (model, source) = match (&args.model, &args.dataset) {
        (Some(path), _) => (crate::model::load(path)?, format!("`{}`", path.display())),
        (None, Some(dataset)) => {
            let served =
                Served::current(args.registry.as_deref().unwrap_or(default_registry), dataset)?;
            let source = format!("model v{} of `{dataset}`", served.version);
            (served.model, source)
        }
        (None, None) => anyhow::bail!("give `--model FILE` or `--dataset NAME`"),
    };
    let mut table = predict_file(&model, &args.data, args.id.as_deref())?;
    let rows = table.rows();
    write_replacing(&mut table, &args.out)?;
    Ok(format!(
        "predicted {rows} rows of `{}` with {source} into `{}`",
        args.data.display(),
        args.out.display()
    ))
}

/// Predicts every row of the file at `data`: a table of the `id` column (if
/// asked), `prediction` and, for classification, `probability_<class>` per class.
pub fn predict_file(model: &TrainedModel, data: &Path, id: Option<&str>) -> anyhow::Result<Table> {
    let raw = read(data)?;
    let shown = data.display();
    let column = |name: &str| raw.names.iter().position(|n| n == name);
    let missing: Vec<&str> = model
        .preprocessor
        .features
        .iter()
        .map(|f| f.name())
        .filter(|n| column(n).is_none())
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "`{shown}` lacks the model's column{} {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let ids = match id {
        Some(name) => {
            let index = column(name).ok_or_else(|| {
                let hint = crate::names::did_you_mean(name, &raw.names);
                anyhow::anyhow!("`{shown}` has no column `{name}` (`--id`){hint}")
            })?;
            Some((name, &raw.columns[index]))
        }
        None => None,
    };
    let indices: Vec<usize> =
        model.preprocessor.features.iter().filter_map(|f| column(f.name())).collect();
    let rows = raw.columns.first().map_or(0, Vec::len);
    let mut records = Vec::with_capacity(rows);
    let mut problems = Vec::new();
    for row in 0..rows {
        let texts: Vec<Option<&str>> =
            indices.iter().map(|&i| raw.columns[i][row].as_deref()).collect();
        match schema::check_text(&model.preprocessor, &texts) {
            Ok(cells) => records.push(cells),
            // Row 1 is the header: data rows count from 2, as an editor shows them.
            Err(errors) => problems.push(format!("row {}: {}", row + 2, errors.join("; "))),
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(SHOWN_PROBLEMS);
        let mut message = format!("{} rows of `{shown}` cannot be predicted:", problems.len());
        for problem in problems.iter().take(SHOWN_PROBLEMS) {
            message.push_str("\n  ");
            message.push_str(problem);
        }
        if more > 0 {
            message.push_str(&format!("\n  … and {more} more"));
        }
        anyhow::bail!(message);
    }
    let (values, probabilities) = model.predict(&records)?;
    let mut table = Table::default();
    if let Some((name, cells)) = ids {
        table.push(name, Values::Text(cells.clone()));
    }
    match model.task {
        Task::Regression => {
            table.push("prediction", Values::Float(values.into_iter().map(Some).collect()))
        }
        Task::Classification => {
            let names = values.iter().map(|&v| model.classes.get(v as usize).cloned()).collect();
            table.push("prediction", Values::Text(names));
            if let Some(probabilities) = probabilities {
                for (class, name) in model.classes.iter().enumerate() {
                    let column = probabilities.iter().map(|p| p.get(class).copied()).collect();
                    table.push(&format!("probability_{name}"), Values::Float(column));
                }
            }
        }
    }
    Ok(table)
}

/// Writes `table` to `path` through a temporary file, so that a failure
/// leaves any earlier file whole.
fn write_replacing(table: &mut Table, path: &Path) -> anyhow::Result<()> {
    // The extension stays last: it says which format to write.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{}.{name}", std::process::id()));
    let mut frame = table.to_frame()?;
    let written =
        crate::table::write(&mut frame, &temp).and_then(|()| Ok(fs_err::rename(&temp, path)?));
    if written.is_err() {
        let _ = fs_err::remove_file(&temp);
    }
    written
}
