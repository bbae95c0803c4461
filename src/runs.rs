//! The runs history: one JSON record per line of `.cache/runs/log.jsonl`,
//! only ever appended to. Every `repro` that runs a stage appends one (when,
//! at which git revision, the params the stages read, the metrics they
//! wrote, each stage's outcome and duration); a stage's command may add
//! records of its own (a tuner's trials) by writing JSON lines to the file
//! `PIPIT_RUN_RECORDS` names.
//!
//! A record is written with one `write` of a whole line to a file opened for
//! appending, and synced. A pipit killed mid-write can leave at most a torn
//! last line: readers skip a line that does not parse, and the next append
//! starts on a fresh line, so no torn record is ever read and none hides
//! the ones after it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The folder of the runs history, under `.cache/`.
pub const RUNS_DIR: &str = "runs";
/// The log itself, in [`RUNS_DIR`].
pub const LOG_FILE: &str = "log.jsonl";
/// The environment variable that names the file a stage's command may write
/// its own records to, one JSON object per line.
pub const RECORDS_ENV: &str = "PIPIT_RUN_RECORDS";

/// What made a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A `pipit repro` that ran at least one stage.
    Repro,
    /// A record a stage's command wrote (a tuner's trial).
    Trial,
}

/// How one stage of a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRun {
    pub name: String,
    /// `ran`, `restored`, `failed`, `skipped`, `stopped`, `up to date`, …
    pub outcome: String,
    pub seconds: f64,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique: 16 hex digits.
    pub id: String,
    pub kind: Kind,
    /// A name given to the run (an experiment's), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For a trial: the run it was part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// For a trial: the stage whose command wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// When it started, RFC 3339 in UTC.
    pub time: String,
    /// How long it took.
    pub seconds: f64,
    /// The git commit the workspace was at, if in a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Whether the workspace had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
    /// `success` or `failure`.
    pub outcome: String,
    /// The params read, by dotted key (`train.lr`; `file:key` for a params
    /// file other than `params.yaml`).
    #[serde(default)]
    pub params: IndexMap<String, Value>,
    /// The metrics written, by `path:key`.
    #[serde(default)]
    pub metrics: IndexMap<String, Value>,
    /// Each stage of the run that did not stay up to date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageRun>,
}

impl Record {
    /// Returns the record of a `repro` of `pipeline` that started at `time`
    /// and took `seconds`: the params every stage reads, the metrics files
    /// as they are now, the revision, and `stages`; `success` unless a stage
    /// failed.
    pub fn of_repro(
        pipeline: &crate::pipeline::Pipeline,
        time: String,
        seconds: f64,
        stages: Vec<StageRun>,
    ) -> Record {
        let mut params = IndexMap::new();
        for dep in pipeline.stages.iter().flat_map(|s| &s.params) {
            let file = dep.file.as_str();
            let prefix = if file == "params.yaml" { String::new() } else { format!("{file}:") };
            for (key, value) in &dep.values {
                let mut flat = crate::metrics::Flat::new();
                crate::metrics::flatten(key, value, &mut flat);
                for (key, value) in flat {
                    params.entry(format!("{prefix}{key}")).or_insert(value);
                }
            }
        }
        let mut metrics = IndexMap::new();
        for path in pipeline.metrics_files() {
            let Ok(flat) = crate::metrics::read(&pipeline.root.join(&path), &path) else {
                continue;
            };
            let scalar = |(key, value): &(String, Value)| {
                (value.is_number() || value.is_boolean()) && kept_key(key)
            };
            let kept = flat.into_iter().filter(scalar);
            metrics.extend(kept.map(|(key, value)| (format!("{path}:{key}"), value)));
        }
        let (rev, dirty) =
            crate::git::head(&pipeline.root).map_or((None, false), |(r, d)| (Some(r), d));
        let failed = stages.iter().any(|s| s.outcome == "failed");
        Record {
            id: new_id(),
            kind: Kind::Repro,
            name: None,
            parent: None,
            stage: None,
            time,
            seconds,
            rev,
            dirty,
            outcome: if failed { "failure" } else { "success" }.to_owned(),
            params,
            metrics,
            stages,
        }
    }
}

/// Whether the runs history keeps a flattened metrics key: at most two
/// levels deep (`f1`, `loss.test`), and not an item of a list (`matrix.0.1`,
/// part of a series or a matrix). Deeper detail (a drift report's statistics
/// per column) stays in the file, where `pipit metrics` reads it; records
/// stay small enough for `exp show` to read thousands at once.
fn kept_key(key: &str) -> bool {
    let mut parts = key.split('.');
    let element = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    key.matches('.').count() < 2 && !parts.any(element)
}

/// Returns the log's path under `dot_cache`.
pub fn log_path(dot_cache: &Path) -> PathBuf {
    dot_cache.join(RUNS_DIR).join(LOG_FILE)
}

/// Returns a new record id: unique across processes and machines in practice.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = blake3::Hasher::new();
    hasher.update(&now.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.finalize().to_hex()[..16].to_owned()
}

/// Returns the current time as RFC 3339 in UTC, to the second.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Appends `records` to the log under `dot_cache`: each a whole line, all in
/// one write, synced before returning.
pub fn append(dot_cache: &Path, records: &[Record]) -> std::io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let path = log_path(dot_cache);
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let mut file = fs_err::OpenOptions::new().read(true).append(true).create(true).open(&path)?;
    let mut text = String::new();
    // A torn last line (a pipit killed mid-write) stays a line of its own.
    let length = file.metadata()?.len();
    if length > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(length - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    for record in records {
        text.push_str(&serde_json::to_string(record).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// What reading the log found.
#[derive(Debug, Default)]
pub struct History {
    /// Every readable record, oldest first.
    pub records: Vec<Record>,
    /// Lines that are not a record (torn by a crash, or edited by hand).
    pub unreadable: usize,
}

/// Reads the log under `dot_cache` (an empty history when there is none).
pub fn read(dot_cache: &Path) -> std::io::Result<History> {
    let text = match fs_err::read_to_string(log_path(dot_cache)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(e) => return Err(e),
    };
    Ok(parse(&text))
}

/// Parses the text of a log, its lines in parallel.
pub fn parse(text: &str) -> History {
    use rayon::prelude::*;
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    let parsed: Vec<Option<Record>> =
        lines.par_iter().map(|line| serde_json::from_str::<Record>(line).ok()).collect();
    let unreadable = parsed.iter().filter(|r| r.is_none()).count();
    History { records: parsed.into_iter().flatten().collect(), unreadable }
}

/// What a stage's command may write to its records file, one object a line:
/// `{"params": {…}, "metrics": {…}, "seconds": 1.5, "name": "trial 3",
/// "outcome": "success"}`, every field optional; nested params and metrics
/// are flattened to dotted keys.
#[derive(Debug, Default, Deserialize)]
struct Written {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    metrics: Value,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

/// Reads the records a stage's command wrote to `path` as trials of
/// `parent`; lines that are not JSON objects are counted, not kept.
pub fn trials(path: &Path, parent: &Record, stage: &str) -> std::io::Result<(Vec<Record>, usize)> {
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let (mut found, mut unreadable) = (Vec::new(), 0);
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let Ok(written) = serde_json::from_str::<Written>(line) else {
            unreadable += 1;
            continue;
        };
        let flat = |value: &Value| {
            let mut flat = crate::metrics::Flat::new();
            crate::metrics::flatten("", value, &mut flat);
            flat.retain(|key, _| !key.is_empty());
            flat
        };
        found.push(Record {
            id: new_id(),
            kind: Kind::Trial,
            name: written.name,
            parent: Some(parent.id.clone()),
            stage: Some(stage.to_owned()),
            time: written.time.unwrap_or_else(|| parent.time.clone()),
            seconds: written.seconds.unwrap_or(0.0),
            rev: parent.rev.clone(),
            dirty: parent.dirty,
            outcome: written.outcome.unwrap_or_else(|| "success".to_owned()),
            params: flat(&written.params),
            metrics: flat(&written.metrics),
            stages: Vec::new(),
        });
    }
    Ok((found, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> Record {
        Record {
            id: id.into(),
            kind: Kind::Repro,
            name: None,
            parent: None,
            stage: None,
            time: "2026-12-03T18:00:00Z".into(),
            seconds: 1.5,
            rev: Some("abc".into()),
            dirty: false,
            outcome: "success".into(),
            params: IndexMap::from([("lr".to_owned(), serde_json::json!(0.1))]),
            metrics: IndexMap::new(),
            stages: Vec::new(),
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_record_starts_a_line() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &[record("a")]).unwrap();
        let path = log_path(dir.path());
        let mut text = fs_err::read_to_string(&path).unwrap();
        let whole = serde_json::to_string(&record("torn")).unwrap();
        text.push_str(&whole[..whole.len() / 2]);
        fs_err::write(&path, text).unwrap();
        append(dir.path(), &[record("b")]).unwrap();
        let history = read(dir.path()).unwrap();
        let ids: Vec<&str> = history.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, history.unreadable), (vec!["a", "b"], 1));
    }

    #[test]
    fn ids_differ_even_when_made_at_once() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn a_commands_records_become_trials_of_its_run_with_flat_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        fs_err::write(
            &path,
            "{\"params\": {\"model\": {\"depth\": 3}}, \"metrics\": {\"f1\": 0.5}, \"seconds\": 2}\nnot json\n",
        )
        .unwrap();
        let (found, unreadable) = trials(&path, &record("run"), "tune").unwrap();
        assert_eq!(unreadable, 1);
        assert_eq!(found[0].params["model.depth"], 3);
        assert_eq!(found[0].metrics["f1"], 0.5);
        assert_eq!(
            (found[0].parent.as_deref(), found[0].stage.as_deref()),
            (Some("run"), Some("tune"))
        );
        assert_eq!(found[0].kind, Kind::Trial);
    }
}
