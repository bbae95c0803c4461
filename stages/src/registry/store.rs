//! The registry on disk:
//!
//! ```text
//! registry/
//!   entries/<N>.json   one entry per version, written once
//!   models/<N>.model   the registered model file, written before its entry
//!   current            {"dataset": version, …}: the active model per data set
//!   history.jsonl      every change of `current`, appended
//!   lock               held while the registry changes
//! ```
//!
//! Every file is replaced atomically and an entry is written only after its
//! model, and `current` only after the entry it names, so a crash at any
//! moment leaves no half-written entry and no `current` naming nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Gate;
use crate::atomic::write_atomic;
use crate::model::{Task, digest};

/// A registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The version: 1, 2, … in registration order, never reused.
    pub version: u64,
    /// When it was registered (UTC, RFC 3339).
    pub time: String,
    /// The data set it serves.
    pub dataset: String,
    /// The model kind (`forest`, …).
    pub model: String,
    /// Classification or regression.
    pub task: Task,
    /// The predicted column.
    pub target: String,
    /// Its hyperparameters.
    pub params: serde_json::Map<String, Value>,
    /// Its test metrics.
    pub metrics: serde_json::Map<String, Value>,
    /// The baseline's metrics.
    pub baseline: Value,
    /// The gate's verdict.
    pub gate: Gate,
    /// `accepted` or `rejected`.
    pub status: Status,
    /// BLAKE3 of the model file.
    pub model_blake3: String,
    /// BLAKE3 of the training and test data.
    pub data: Value,
    /// The model file it was registered from.
    pub source: String,
}

impl Entry {
    /// Returns true when this model's key metric is at least as good as `other`'s.
    pub fn at_least(&self, other: &Entry) -> bool {
        if self.gate.lower_is_better {
            self.gate.value <= other.gate.value
        } else {
            self.gate.value >= other.gate.value
        }
    }
}

/// Whether the gate let a model through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It may become current.
    Accepted,
    /// It is kept but never made current.
    Rejected,
}

impl Status {
    /// Returns the word users read.
    pub fn name(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        }
    }
}

/// Where a registry is, and how messages name it.
#[derive(Clone, Debug)]
pub struct Place {
    /// The folder.
    pub dir: PathBuf,
    /// The folder as users read it: relative to the repository root for the
    /// default registry, as given for `--registry`.
    pub shown: PathBuf,
}

impl Place {
    /// A registry at `dir`, named as it is written.
    pub fn at(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), shown: dir.to_path_buf() }
    }
}

/// The state of a registered model's stored file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// It is there, with the BLAKE3 the entry records.
    Intact,
    /// It is not there.
    Missing,
    /// Its bytes are not the ones registered: truncated or changed.
    Damaged,
}

/// A registry folder, locked while this value lives.
pub struct Registry {
    place: Place,
    _lock: Option<std::fs::File>,
}

impl Registry {
    /// Opens the registry at `place` for reading (it may not exist yet).
    pub fn open(place: &Place) -> Self {
        Self { place: place.clone(), _lock: None }
    }

    /// Opens the registry at `place` for changing it, waiting for any other
    /// process changing it (the demo registers three data sets at once).
    pub fn lock(place: &Place) -> anyhow::Result<Self> {
        let dir = &place.dir;
        fs_err::create_dir_all(dir)?;
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?
            .into_file();
        file.lock()
            .with_context(|| format!("cannot lock the registry `{}`", place.shown.display()))?;
        Ok(Self { place: place.clone(), _lock: Some(file) })
    }

    /// Returns the folder as users read it.
    pub fn shown(&self) -> &Path {
        &self.place.shown
    }

    /// Returns a version's model file as users read it.
    pub fn shown_model_path(&self, version: u64) -> PathBuf {
        self.place.shown.join(model_file(version))
    }

    /// Returns every entry, by version.
    pub fn entries(&self) -> anyhow::Result<Vec<Entry>> {
        let folder = self.place.dir.join("entries");
        if !folder.is_dir() {
            return Ok(Vec::new());
        }
        let mut entries = Vec::new();
        for item in fs_err::read_dir(&folder)? {
            let path = item?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = fs_err::read_to_string(&path)?;
            let entry: Entry = serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not a registry entry", path.display()))?;
            entries.push(entry);
        }
        entries.sort_by_key(|e| e.version);
        Ok(entries)
    }

    /// Returns the path of a version's model file.
    pub fn model_path(&self, version: u64) -> PathBuf {
        self.place.dir.join(model_file(version))
    }

    /// Returns whether `entry`'s stored model file is the one registered.
    pub fn stored_model(&self, entry: &Entry) -> anyhow::Result<Stored> {
        let path = self.model_path(entry.version);
        if !path.is_file() {
            return Ok(Stored::Missing);
        }
        let bytes = fs_err::read(&path)?;
        Ok(if digest(&bytes) == entry.model_blake3 { Stored::Intact } else { Stored::Damaged })
    }

    /// Writes `entry`'s model file again from `model`, whose BLAKE3 is the entry's.
    pub fn restore_model(&self, entry: &Entry, model: &[u8]) -> anyhow::Result<()> {
        write_atomic(&self.model_path(entry.version), model)?;
        Ok(())
    }

    /// Stores a new entry and its model file (model first).
    pub fn add(&self, entry: &Entry, model: &[u8]) -> anyhow::Result<()> {
        write_atomic(&self.model_path(entry.version), model)?;
        let path = self.place.dir.join("entries").join(format!("{}.json", entry.version));
        write_atomic(&path, (serde_json::to_string_pretty(entry)? + "\n").as_bytes())?;
        Ok(())
    }

    /// Returns the current version per data set.
    pub fn current(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let path = self.place.dir.join("current");
        if !path.is_file() {
            return Ok(BTreeMap::new());
        }
        let text = fs_err::read_to_string(&path)?;
        serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not a registry `current` file", path.display()))
    }

    /// Returns every change of a current model (`history.jsonl`), oldest first.
    pub fn events(&self) -> anyhow::Result<Vec<Value>> {
        let path = self.place.dir.join("history.jsonl");
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
    }

    /// Makes `entry` current for its data set and records the change.
    pub fn set_current(&self, entry: &Entry, action: &str) -> anyhow::Result<Option<u64>> {
        let mut current = self.current()?;
        let previous = current.insert(entry.dataset.clone(), entry.version);
        let text = serde_json::to_string_pretty(&current)? + "\n";
        write_atomic(&self.place.dir.join("current"), text.as_bytes())?;
        let line = serde_json::json!({
            "time": now(),
            "action": action,
            "dataset": entry.dataset,
            "from": previous,
            "to": entry.version,
        });
        let mut history = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.place.dir.join("history.jsonl"))?;
        std::io::Write::write_all(&mut history, format!("{line}\n").as_bytes())?;
        Ok(previous)
    }
}

/// Returns a version's model file, relative to the registry folder.
fn model_file(version: u64) -> PathBuf {
    Path::new("models").join(format!("{version}.model"))
}

/// Returns the time now, UTC, RFC 3339 to the second.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
