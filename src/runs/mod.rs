//! The runs history: one JSON record per line of `.cache/history/log.jsonl`,
//! only ever appended to. Every `repro` that runs a stage appends one (when,
//! at which git revision, the params the stages read, the metrics they
//! wrote, each stage's outcome and duration); a stage's command may add
//! records of its own (a tuner's trials) by writing JSON lines to the file
//! `PIPIT_RUN_RECORDS` names.
//!
//! Records with the same params and metrics keys share a schema line that
//! lists them, written before the first of them; each record holds only its
//! values. Records are written with one `write` of whole lines to a file
//! opened for appending, and synced. A pipit killed mid-write can leave at most a torn
//! last line: readers skip a line that does not parse, and the next append
//! starts on a fresh line, so no torn record is ever read and none hides
//! the ones after it.

mod scan;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The folder of the runs history, under `.cache/`.
pub const HISTORY_DIR: &str = "history";
/// The log itself, in [`HISTORY_DIR`].
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
    pub params: Values,
    /// The metrics written, by `path:key`.
    #[serde(default)]
    pub metrics: Values,
    /// Each stage of the run that did not stay up to date.
    #[serde(default, skip_serializing_if = "Stages::is_empty")]
    pub stages: Stages,
}

/// Each stage's outcome in a run, kept as the JSON text it was read as until
/// asked for (a table of thousands of runs never needs them): a span of the
/// log's text, which every record read from it shares.
#[derive(Clone)]
pub struct Stages {
    text: Text,
    span: std::ops::Range<usize>,
}

/// Text shared by the records read from it: the log, or one record's stages.
pub type Text = Arc<dyn AsRef<[u8]> + Send + Sync>;

fn bytes_of(text: &Text) -> &[u8] {
    (**text).as_ref()
}

impl Stages {
    /// Returns `list` as stages of a run.
    pub fn new(list: &[StageRun]) -> Self {
        Self::of_json(serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned()))
    }

    fn of_json(json: String) -> Self {
        let span = 0..json.len();
        Stages { text: Arc::new(json.into_bytes()), span }
    }

    /// The stages as JSON text.
    fn json(&self) -> &str {
        let bytes = bytes_of(&self.text).get(self.span.clone()).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or("[]")
    }

    /// Returns the stages.
    pub fn list(&self) -> Vec<StageRun> {
        serde_json::from_str(self.json()).unwrap_or_default()
    }

    /// Whether no stage is listed.
    pub fn is_empty(&self) -> bool {
        self.span.len() <= 2 && self.json() == "[]"
    }

    /// The stages as the raw JSON a record line holds.
    fn raw(&self) -> Option<&serde_json::value::RawValue> {
        if self.is_empty() { None } else { serde_json::from_str(self.json()).ok() }
    }
}

impl Default for Stages {
    fn default() -> Self {
        Self::of_json("[]".to_owned())
    }
}

impl std::fmt::Debug for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_tuple("Stages").field(&self.json()).finish()
    }
}

impl PartialEq for Stages {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Serialize for Stages {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.raw() {
            Some(raw) => raw.serialize(serializer),
            None => serializer.collect_seq(std::iter::empty::<()>()),
        }
    }
}

impl<'de> Deserialize<'de> for Stages {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Ok(Self::of_json(Box::<str>::from(raw).into_string()))
    }
}

impl Record {
    /// Returns the record of a `repro` of `pipeline` that started at `time`,
    /// at the git commit `head` (and whether tracked files differed from it,
    /// both taken before the run), and took `seconds`: the params every
    /// stage reads, the metrics files as they are now, and `stages`;
    /// `success` unless a stage failed.
    pub fn of_repro(
        pipeline: &crate::pipeline::Pipeline,
        (time, head): (String, Option<(String, bool)>),
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
        let (rev, dirty) = head.map_or((None, false), |(r, d)| (Some(r), d));
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
            params: Values::from_pairs(params),
            metrics: Values::from_pairs(metrics),
            stages: Stages::new(&stages),
        }
    }
}

/// One param's or metric's value: what a runs table holds, in a third of
/// the memory of a JSON value (a history of 10,000 runs of 250 values each
/// is read at once).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Box<str>),
}

impl Cell {
    /// Returns the value as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Text(t) => Value::String(t.to_string()),
        }
    }

    /// Returns the value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl From<Value> for Cell {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Cell::Text(s.into()),
            other => Cell::Text(other.to_string().into()),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => serializer.serialize_unit(),
            Cell::Bool(b) => serializer.serialize_bool(*b),
            Cell::Int(i) => serializer.serialize_i64(*i),
            Cell::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Cell::Float(_) => serializer.serialize_unit(),
            Cell::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a boolean, a string or null")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
                Ok(Cell::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
                Ok(i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
                Ok(Cell::Text(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Values by key, in order; records with the same keys share one list of
/// them (as the log stores them: see [`append`]). Values read from the log
/// stay its text until asked for: a table of 10,000 runs parses only the
/// columns it shows, and tells which columns differ by comparing text.
#[derive(Clone, Debug, Default)]
pub struct Values {
    keys: Arc<[String]>,
    cells: Cells,
}

#[derive(Clone, Debug)]
enum Cells {
    /// Values made in this process.
    Parsed(Vec<Cell>),
    /// Values as a log's text has them.
    Raw(RawCells),
}

impl Default for Cells {
    fn default() -> Self {
        Cells::Parsed(Vec::new())
    }
}

/// A record's values in the text of the log: each one's start and length
/// after `base`.
#[derive(Clone)]
struct RawCells {
    text: Text,
    base: usize,
    spans: Vec<(u32, u32)>,
}

impl RawCells {
    /// Returns the elements of `array`, a JSON array's text inside `text`
    /// (likely `expected` of them).
    fn of_array(text: &Text, array: &[u8], expected: usize) -> Option<Self> {
        let base = array.as_ptr() as usize - bytes_of(text).as_ptr() as usize;
        let spans = scan::elements(array, expected)?;
        Some(RawCells { text: Arc::clone(text), base, spans })
    }

    /// The text of every value, from the first to the last.
    fn all_bytes(&self) -> Option<&[u8]> {
        let (Some(&(start, _)), Some(&(last, len))) = (self.spans.first(), self.spans.last())
        else {
            return Some(&[]);
        };
        bytes_of(&self.text).get(self.base + start as usize..self.base + (last + len) as usize)
    }

    fn bytes(&self, index: usize) -> Option<&[u8]> {
        let &(start, len) = self.spans.get(index)?;
        let start = self.base + start as usize;
        bytes_of(&self.text).get(start..start + len as usize)
    }
}

impl std::fmt::Debug for RawCells {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let cells: Vec<Option<Cell>> =
            (0..self.spans.len()).map(|i| self.bytes(i).map(Cell::of_json)).collect();
        f.debug_list().entries(cells).finish()
    }
}

impl Cell {
    /// Returns the value of one JSON value's text.
    fn of_json(json: &[u8]) -> Cell {
        match json {
            b"null" => Cell::Null,
            b"true" => Cell::Bool(true),
            b"false" => Cell::Bool(false),
            [b'-' | b'0'..=b'9', ..] => {
                let text = std::str::from_utf8(json).unwrap_or_default();
                let decimal = json.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                match text.parse::<i64>() {
                    Ok(i) if !decimal => Cell::Int(i),
                    _ => text.parse::<f64>().map_or(Cell::Null, Cell::Float),
                }
            }
            _ => serde_json::from_slice::<Value>(json).map_or(Cell::Null, Cell::from),
        }
    }
}

impl Values {
    /// Returns the values of `pairs`, in their order.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Value)>) -> Self {
        let (keys, values): (Vec<String>, Vec<Cell>) =
            pairs.into_iter().map(|(k, v)| (k, Cell::from(v))).unzip();
        Values { keys: keys.into(), cells: Cells::Parsed(values) }
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Whether `other` has the same keys in the same order.
    pub fn same_keys(&self, other: &Values) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys) || self.keys == other.keys
    }

    /// Returns the value of `key`.
    pub fn get(&self, key: &str) -> Option<Cell> {
        self.keys.iter().position(|k| k == key).and_then(|i| self.value_at(i))
    }

    /// Returns the value at `index`.
    pub fn value_at(&self, index: usize) -> Option<Cell> {
        match &self.cells {
            Cells::Parsed(cells) => cells.get(index).cloned(),
            Cells::Raw(raw) => raw.bytes(index).map(Cell::of_json),
        }
    }

    /// Returns the key and value at `index`.
    pub fn at(&self, index: usize) -> Option<(&str, Cell)> {
        Some((self.keys.get(index)?.as_str(), self.value_at(index)?))
    }

    /// Whether the value at `index` is the value at `other_index` of `other`
    /// (both absent counts as the same).
    pub fn same_value(&self, index: usize, other: &Values, other_index: usize) -> bool {
        match (&self.cells, &other.cells) {
            // The log writes a value one way: the same text is the same value.
            (Cells::Raw(a), Cells::Raw(b)) => match (a.bytes(index), b.bytes(other_index)) {
                (Some(x), Some(y)) if x == y => true,
                (None, None) => true,
                _ => self.value_at(index) == other.value_at(other_index),
            },
            _ => self.value_at(index) == other.value_at(other_index),
        }
    }

    /// Whether `other` has the same keys and every value the same; quick
    /// when both were read from a log (their texts compared).
    pub fn same_as(&self, other: &Values) -> bool {
        if !self.same_keys(other) {
            return false;
        }
        match (&self.cells, &other.cells) {
            (Cells::Raw(a), Cells::Raw(b)) => {
                a.spans.len() == b.spans.len() && a.all_bytes() == b.all_bytes()
            }
            _ => self.cells() == other.cells(),
        }
    }

    /// Every key with its value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Cell)> {
        (0..self.keys.len()).filter_map(|i| self.at(i))
    }

    /// The values, parsed, in order.
    fn cells(&self) -> Vec<Cell> {
        match &self.cells {
            Cells::Parsed(cells) => cells.clone(),
            Cells::Raw(raw) => {
                (0..raw.spans.len()).filter_map(|i| raw.bytes(i)).map(Cell::of_json).collect()
            }
        }
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.same_keys(other) && self.cells() == other.cells()
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IndexMap::<String, Value>::deserialize(deserializer).map(Values::from_pairs)
    }
}

/// A line of the log that names the keys of the records after it that
/// refer to it: each record then holds only its values, in that order, so
/// a history of thousands of runs stays small and quick to read.
#[derive(Serialize, Deserialize)]
struct SchemaLine {
    schema: String,
    params: Vec<String>,
    metrics: Vec<String>,
}

/// A schema's keys: the params', the metrics'.
type Keys = (Arc<[String]>, Arc<[String]>);

/// A record as a line of the log: its params' and metrics' values in the
/// order its schema's keys list them.
#[derive(Serialize)]
struct RecordLine<'a> {
    id: String,
    kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    time: String,
    seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rev: Option<String>,
    #[serde(default)]
    dirty: bool,
    outcome: String,
    schema: String,
    params: Vec<Cell>,
    metrics: Vec<Cell>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<&'a serde_json::value::RawValue>,
}

/// What a record line holds besides its values and stages.
#[derive(Deserialize)]
struct Head {
    id: String,
    kind: Kind,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    time: String,
    seconds: f64,
    #[serde(default)]
    rev: Option<String>,
    #[serde(default)]
    dirty: bool,
    outcome: String,
    schema: String,
}

/// A record line as read: its head parsed, its values and stages still the
/// text of the line.
struct ReadLine<'a> {
    head: Head,
    params: &'a [u8],
    metrics: &'a [u8],
    stages: Option<&'a [u8]>,
}

/// Returns the schema of `record`'s keys; its id is a hash of them.
fn schema_of(record: &Record) -> SchemaLine {
    let (params, metrics) = (record.params.keys.to_vec(), record.metrics.keys.to_vec());
    let mut hasher = blake3::Hasher::new();
    for key in params.iter().chain([&String::new()]).chain(&metrics) {
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
    }
    SchemaLine { schema: hasher.finalize().to_hex()[..16].to_owned(), params, metrics }
}

impl<'a> RecordLine<'a> {
    fn new(whole: &'a Record, schema: &str) -> Self {
        let record = whole.clone();
        RecordLine {
            id: record.id,
            kind: record.kind,
            name: record.name,
            parent: record.parent,
            stage: record.stage,
            time: record.time,
            seconds: record.seconds,
            rev: record.rev,
            dirty: record.dirty,
            outcome: record.outcome,
            schema: schema.to_owned(),
            params: record.params.cells(),
            metrics: record.metrics.cells(),
            stages: whole.stages.raw(),
        }
    }
}

impl<'a> ReadLine<'a> {
    /// Reads a record line: `None` unless it is one whole JSON object with
    /// the fields a record has.
    fn of(line: &'a [u8]) -> Option<Self> {
        let (mut params, mut metrics, mut stages) = (None, None, None);
        let mut head = Vec::with_capacity(256);
        head.push(b'{');
        for (key, value) in scan::members(line)? {
            match key {
                b"\"params\"" => params = Some(value),
                b"\"metrics\"" => metrics = Some(value),
                b"\"stages\"" => stages = Some(value),
                _ => {
                    if head.len() > 1 {
                        head.push(b',');
                    }
                    head.extend_from_slice(key);
                    head.push(b':');
                    head.extend_from_slice(value);
                }
            }
        }
        head.push(b'}');
        let head = serde_json::from_slice(&head).ok()?;
        Some(ReadLine { head, params: params?, metrics: metrics?, stages })
    }

    /// Returns the record, its keys from `keys` (params', metrics') and its
    /// values and stages spans of `log`, the text it was read from; `None`
    /// when the counts of keys and values differ.
    fn into_record(self, keys: &Keys, log: &Text) -> Option<Record> {
        let params = RawCells::of_array(log, self.params, keys.0.len())?;
        let metrics = RawCells::of_array(log, self.metrics, keys.1.len())?;
        if keys.0.len() != params.spans.len() || keys.1.len() != metrics.spans.len() {
            return None;
        }
        let stages = match self.stages {
            Some(raw) if raw.starts_with(b"[") => {
                let start = raw.as_ptr() as usize - bytes_of(log).as_ptr() as usize;
                Stages { text: Arc::clone(log), span: start..start + raw.len() }
            }
            Some(_) => return None,
            None => Stages::default(),
        };
        let head = self.head;
        Some(Record {
            id: head.id,
            kind: head.kind,
            name: head.name,
            parent: head.parent,
            stage: head.stage,
            time: head.time,
            seconds: head.seconds,
            rev: head.rev,
            dirty: head.dirty,
            outcome: head.outcome,
            params: Values { keys: Arc::clone(&keys.0), cells: Cells::Raw(params) },
            metrics: Values { keys: Arc::clone(&keys.1), cells: Cells::Raw(metrics) },
            stages,
        })
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
    dot_cache.join(HISTORY_DIR).join(LOG_FILE)
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

/// How much of the end of the log [`append`] reads to find the schemas
/// already written (one not found there is written again: harmless).
const SCHEMA_LOOKBACK: u64 = 256 * 1024;

/// Appends `records` to the log under `dot_cache`, each after the schema of
/// its keys unless the end of the log has it: whole lines, all in one write,
/// synced before returning.
pub fn append(dot_cache: &Path, records: &[Record]) -> std::io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let path = log_path(dot_cache);
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let mut file = fs_err::OpenOptions::new().read(true).append(true).create(true).open(&path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(SCHEMA_LOOKBACK);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let tail = String::from_utf8_lossy(&tail);
    let mut text = String::new();
    // A torn last line (a pipit killed mid-write) stays a line of its own,
    // and a schema in it does not count as written.
    let complete = match tail.rfind('\n') {
        Some(end) if end + 1 < tail.len() => {
            text.push('\n');
            &tail[..=end]
        }
        Some(_) => &tail[..],
        None => {
            if !tail.is_empty() {
                text.push('\n');
            }
            ""
        }
    };
    let marker = |id: &str| format!("{{\"schema\":\"{id}\"");
    text.push_str(&lines(records, |id| complete.contains(&marker(id)))?);
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Returns `records` as lines of a log, each after its schema unless
/// `written` says the schema is there already (or an earlier record brought it).
fn lines(records: &[Record], written: impl Fn(&str) -> bool) -> std::io::Result<String> {
    let mut text = String::new();
    let mut brought: Vec<String> = Vec::new();
    for record in records {
        let schema = schema_of(record);
        if !brought.contains(&schema.schema) && !written(&schema.schema) {
            text.push_str(&json_line(&schema)?);
            brought.push(schema.schema.clone());
        }
        text.push_str(&json_line(&RecordLine::new(record, &schema.schema))?);
    }
    Ok(text)
}

/// Returns `records` as a log of their own (a remote's segment): each
/// schema once, before the first record that needs it.
pub fn segment(records: &[Record]) -> std::io::Result<String> {
    lines(records, |_| false)
}

/// Returns `value` as one line of JSON.
fn json_line<T: Serialize>(value: &T) -> std::io::Result<String> {
    let mut text = serde_json::to_string(value).map_err(std::io::Error::other)?;
    text.push('\n');
    Ok(text)
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
    let file = match fs_err::File::open(log_path(dot_cache)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(History::default());
    }
    // SAFETY: the log is only ever appended to (by pipit, which never
    // truncates or rewrites it), so the mapped bytes do not change under the
    // records that borrow them; what is appended after mapping is not seen.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(file.file()) }.map_err(|e| {
        std::io::Error::new(e.kind(), format!("failed to map `{}`: {e}", file.path().display()))
    })?;
    let mut history = parse(Arc::new(map));
    // Pulled records come after local ones in the file: order by time
    // (stable: records of one second keep the file's order).
    history.records.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(history)
}

/// Parses the text of a log, its lines in parallel; a record whose schema
/// is missing or does not fit it counts as unreadable. The records keep
/// `log` for their stages.
pub fn parse(log: Text) -> History {
    use rayon::prelude::*;
    use std::collections::HashMap;
    let text = bytes_of(&log);
    // The lines, found in pieces of the text at once.
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = match text.get(start + (1 << 20)..) {
            Some(rest) => memchr::memchr(b'\n', rest).map_or(text.len(), |i| start + (1 << 20) + i),
            None => text.len(),
        };
        pieces.push(&text[start..end]);
        start = end + 1;
    }
    let lines: Vec<&[u8]> = pieces
        .par_iter()
        .flat_map_iter(|piece| lines_of(piece))
        .map(<[u8]>::trim_ascii)
        .filter(|line| !line.is_empty())
        .collect();
    let (schema_lines, record_lines): (Vec<&[u8]>, Vec<&[u8]>) =
        lines.into_iter().partition(|line| line.starts_with(b"{\"schema\""));
    let mut history = History::default();
    let mut schemas: HashMap<String, Keys> = HashMap::new();
    for line in schema_lines {
        match serde_json::from_slice::<SchemaLine>(line) {
            Ok(schema) => {
                schemas.insert(schema.schema, (schema.params.into(), schema.metrics.into()));
            }
            Err(_) => history.unreadable += 1,
        }
    }
    let record = |line: &&[u8]| {
        let line = ReadLine::of(line)?;
        let keys = schemas.get(&line.head.schema)?;
        line.into_record(keys, &log)
    };
    let records: Vec<Option<Record>> = record_lines.par_iter().map(record).collect();
    history.unreadable += records.iter().filter(|r| r.is_none()).count();
    history.records = records.into_iter().flatten().collect();
    history
}

/// The lines of `text`, without their line feeds.
fn lines_of(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text).chain([text.len()]).map(move |end| {
        let line = &text[start..end];
        start = end + 1;
        line
    })
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
            params: Values::from_pairs(flat(&written.params)),
            metrics: Values::from_pairs(flat(&written.metrics)),
            stages: Stages::default(),
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
            params: Values::from_pairs([("lr".to_owned(), serde_json::json!(0.1))]),
            metrics: Values::default(),
            stages: Stages::default(),
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
    fn records_read_back_as_written_with_every_kind_of_value() {
        let dir = tempfile::tempdir().unwrap();
        let mut full = record("full");
        full.name = Some("exp \"quoted\", with [brackets]".into());
        full.params = Values::from_pairs(
            [
                ("model", serde_json::json!("gbm, \"fast\" [v2]")),
                ("depth", serde_json::json!(3)),
                ("big", serde_json::json!(u64::MAX)),
                ("lr", serde_json::json!(-1.5e-7)),
                ("balanced", serde_json::json!(true)),
                ("seed", serde_json::Value::Null),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        full.metrics = Values::from_pairs([("m.json:f1".to_owned(), serde_json::json!(0.25))]);
        full.stages = Stages::new(&[StageRun {
            name: "train@{a: [1]}".into(),
            outcome: "ran".into(),
            seconds: 0.5,
        }]);
        let mut empty = record("empty");
        empty.params = Values::default();
        append(dir.path(), &[full.clone(), empty.clone()]).unwrap();
        let history = read(dir.path()).unwrap();
        assert_eq!(history.unreadable, 0);
        assert_eq!(history.records, [full.clone(), empty]);
        let read = &history.records[0];
        assert_eq!(read.stages.list(), full.stages.list());
        assert_eq!(read.params.get("big"), Some(Cell::Float(u64::MAX as f64)));
        assert_eq!(read.params.get("seed"), Some(Cell::Null));
        assert!(read.params.same_as(&full.params) && !read.params.same_as(&record("x").params));
        assert!(read.params.same_value(1, &full.params, 1));
        assert_eq!(serde_json::to_value(read).unwrap(), serde_json::to_value(&full).unwrap());
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
        assert_eq!(found[0].params.get("model.depth"), Some(Cell::Int(3)));
        assert_eq!(found[0].metrics.get("f1"), Some(Cell::Float(0.5)));
        assert_eq!(
            (found[0].parent.as_deref(), found[0].stage.as_deref()),
            (Some("run"), Some("tune"))
        );
        assert_eq!(found[0].kind, Kind::Trial);
    }
}
