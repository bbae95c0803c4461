//! `pipeline.lock`: what each stage last ran with and produced.
//!
//! YAML with a stable order (stages, deps, outs and params sorted) and no
//! timestamps, so that a no-op run, a reordering of deps or outs, or a `desc`
//! edit leaves its bytes unchanged. It is replaced atomically, and never
//! rewritten per stage: each completed stage is appended to a journal under
//! `.cache/`, folded into the lock at the end of the run, or at the start of the
//! next one after a crash.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{write_atomic, write_replacing};

/// The name of the lock file at the repository root.
pub const LOCK_FILE: &str = "pipeline.lock";
/// The journal of stages completed since the lock was last written.
const JOURNAL: &str = "journal";
/// The lock as last parsed or written, kept under `.cache/` as JSON with the
/// hash of its text: YAML takes ~15 ms to parse for a thousand stages, its
/// JSON ~1 ms, so the YAML is parsed only after something else wrote it (an
/// edit, a `git checkout`).
const PARSED: &str = "pipeline.lock.json";
/// Part of the parsed lock's key: a parse kept by another version of pipit,
/// whose lock may have other fields, is never taken.
const PARSED_BY: &str = concat!("pipit ", env!("CARGO_PKG_VERSION"), " lock 1\n");

/// The whole lock file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LockFile {
    /// The format version.
    pub schema: String,
    /// Every stage that ran successfully, by name.
    #[serde(default)]
    pub stages: BTreeMap<String, LockEntry>,
}

/// What one stage last ran with and produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The commands (written as one string when there is one).
    #[serde(with = "commands")]
    pub cmd: Vec<String>,
    /// Each dependency with its hash, sorted by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<LockedPath>,
    /// Param values per params file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Each output with its hash, sorted by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<LockedPath>,
}

/// A file or directory with its hash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LockedPath {
    /// The path relative to the repository root (absolute for external deps).
    pub path: String,
    /// BLAKE3 hex of the file, or of the directory's manifest.
    #[serde(deserialize_with = "crate::hash::deserialize_hash")]
    pub hash: String,
    /// Size in bytes (all files, for a directory).
    pub size: u64,
    /// Number of files, for a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
}

/// A lock file or journal that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not a valid lock file.
    #[error("`{path}` is not a valid lock file: {reason}")]
    Invalid { path: String, reason: String },
}

/// The key of the parse of the lock text `text` (see [`PARSED`]).
fn parsed_key(text: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(PARSED_BY.as_bytes()).update(text.as_bytes());
    hasher.finalize().to_hex().to_string()
}

#[derive(Serialize, Deserialize)]
struct JournalRecord {
    stage: String,
    entry: LockEntry,
}

impl LockEntry {
    /// Sorts deps and outs so that their order in pipeline.yaml does not matter.
    pub fn normalise(mut self) -> Self {
        self.deps.sort();
        self.outs.sort();
        self
    }
}

impl LockFile {
    /// Reads the lock file under `root` (empty when there is none) and applies any
    /// journal left by an interrupted run.
    pub fn read(root: &Path, dot_cache: &Path) -> Result<Self, LockError> {
        let path = root.join(LOCK_FILE);
        let mut lock = match fs_err::read_to_string(&path) {
            Ok(text) if text.trim().is_empty() => Self::default(),
            Ok(text) => Self::parse(&text, dot_cache)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => return Err(e.into()),
        };
        lock.apply_journal(dot_cache)?;
        Ok(lock)
    }

    /// Parses the lock's `text`, or takes the parse kept under `dot_cache`
    /// when it was made from the same text (and keeps a new one otherwise;
    /// where it cannot be written, the next read parses again).
    fn parse(text: &str, dot_cache: &Path) -> Result<Self, LockError> {
        #[derive(Deserialize)]
        struct Kept {
            key: String,
            lock: LockFile,
        }
        if let Ok(bytes) = fs_err::read(dot_cache.join(PARSED))
            && let Ok(parsed) = serde_json::from_slice::<Kept>(&bytes)
            && parsed.key == parsed_key(text)
        {
            return Ok(parsed.lock);
        }
        let lock: Self = serde_saphyr::from_str(text).map_err(|e| LockError::Invalid {
            path: LOCK_FILE.into(),
            reason: e.without_snippet().to_string(),
        })?;
        lock.keep_as_parse_of(text, dot_cache);
        Ok(lock)
    }

    /// Keeps this lock under `dot_cache` as the parse of `text` (see
    /// [`PARSED`]), where it can be written.
    fn keep_as_parse_of(&self, text: &str, dot_cache: &Path) {
        #[derive(Serialize)]
        struct Keep<'a> {
            key: &'a str,
            lock: &'a LockFile,
        }
        if dot_cache.is_dir()
            && let Ok(bytes) = serde_json::to_vec(&Keep { key: &parsed_key(text), lock: self })
        {
            let _ = write_replacing(&dot_cache.join(PARSED), &bytes);
        }
    }

    /// Applies the journal under `dot_cache` (the stages completed since
    /// this lock was read); returns how many records it held.
    pub fn apply_journal(&mut self, dot_cache: &Path) -> Result<usize, LockError> {
        let records = read_journal(&dot_cache.join(JOURNAL))?;
        let count = records.len();
        for record in records {
            self.stages.insert(record.stage, record.entry);
        }
        Ok(count)
    }

    /// Returns the lock file's text.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(&self.versioned()).unwrap_or_default()
    }

    /// This lock with the format version it is written with.
    fn versioned(&self) -> Self {
        Self { schema: "1".into(), stages: self.stages.clone() }
    }

    /// Writes the lock (only if its bytes change) and clears the journal.
    /// A new text is kept parsed as well: the next command reads the lock
    /// without parsing its YAML (~15 ms for a thousand stages), the lock
    /// being what parsing that text gives (see the round-trip test).
    pub fn write(&self, root: &Path, dot_cache: &Path) -> Result<(), LockError> {
        let path = root.join(LOCK_FILE);
        let lock = self.versioned();
        let text = serde_saphyr::to_string(&lock).unwrap_or_default();
        if fs_err::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            write_atomic(&path, text.as_bytes())?;
            lock.keep_as_parse_of(&text, dot_cache);
        }
        match fs_err::remove_file(dot_cache.join(JOURNAL)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// `cmd` as DVC writes it: a string for one command, a list for several.
mod commands {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn serialize<S: Serializer>(commands: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        match commands {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        })
    }
}

/// Appends a completed stage to the journal. Not flushed to disk: the write
/// is there for the next pipit after any crash of this one (`kill -9`
/// included); a power cut may lose the last records, whose stages then run
/// again, as it may lose the objects they stored (see [`crate::cache`]),
/// which are not flushed either. The lock the run ends with is. Flushed per
/// stage, each record forced a commit of the file system's journal, with
/// every out written since: a param run of 26 stages on ext4 took 7 % longer
/// (12 % with the stat cache and the repository lock flushed as well).
pub fn journal(dot_cache: &Path, stage: &str, entry: &LockEntry) -> Result<(), LockError> {
    fs_err::create_dir_all(dot_cache)?;
    let record = JournalRecord { stage: stage.into(), entry: entry.clone() };
    let mut line = serde_json::to_vec(&record).unwrap_or_default();
    line.push(b'\n');
    let mut file = fs_err::File::options()
        .create(true)
        .read(true)
        .append(true)
        .open(dot_cache.join(JOURNAL))?;
    if ends_torn(&mut file)? {
        // A crash mid-write left half a record: end it, so that this record
        // starts on a line of its own instead of being glued to the torn one.
        line.insert(0, b'\n');
    }
    file.write_all(&line)?;
    Ok(())
}

/// Returns true when the journal's last byte is not a newline.
fn ends_torn(file: &mut fs_err::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// Reads the journal; a torn last line (a crash mid-write) is ignored.
fn read_journal(path: &PathBuf) -> Result<Vec<JournalRecord>, LockError> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    // Line by line as bytes: a record torn inside a multi-byte character is
    // not UTF-8, and must not make the records around it unreadable.
    Ok(bytes.split(|&b| b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(out: &str) -> LockEntry {
        LockEntry {
            cmd: vec!["run".into()],
            deps: vec![LockedPath {
                path: "in".into(),
                hash: "a".repeat(64),
                size: 1,
                nfiles: None,
            }],
            params: BTreeMap::from([(
                "params.yaml".into(),
                BTreeMap::from([("lr".into(), serde_json::json!(0.1))]),
            )]),
            outs: vec![LockedPath {
                path: out.into(),
                hash: "b".repeat(64),
                size: 2,
                nfiles: Some(3),
            }],
        }
    }

    /// Any JSON value a params file may give, nested a little.
    fn param_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Not a number and the infinities become null, as in JSON.
            any::<f64>().prop_map(Value::from),
            "(?s).{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("(?s).{0,8}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 256, failure_persistence: None, ..Default::default()
        })]

        /// What `write` keeps as the parse of the text it writes must be
        /// what parsing that text gives, whatever the names, commands and
        /// param values (strings that read as numbers, control characters,
        /// floats at their limits).
        #[test]
        fn a_lock_is_what_parsing_its_text_gives(
            names in proptest::collection::vec("(?s).{0,10}", 1..3),
            commands in proptest::collection::vec("(?s).{0,16}", 1..3),
            params in proptest::collection::btree_map("(?s).{0,8}", param_value(), 0..6),
            path in "(?s).{0,12}",
            size in proptest::prelude::any::<u64>(),
            nfiles in proptest::prelude::any::<Option<u64>>(),
        ) {
            let mut lock = LockFile::default();
            for name in names {
                let dep = LockedPath { path: path.clone(), hash: "c".repeat(64), size, nfiles };
                let entry = LockEntry {
                    cmd: commands.clone(),
                    deps: vec![dep.clone()],
                    params: BTreeMap::from([("params.yaml".to_owned(), params.clone())]),
                    outs: vec![dep],
                };
                lock.stages.insert(name, entry);
            }
            let text = lock.to_yaml();
            let parsed: LockFile = serde_saphyr::from_str(&text).unwrap();
            proptest::prop_assert_eq!(parsed, lock.versioned(), "{}", text);
        }
    }

    #[test]
    fn round_trips_and_skips_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        let mut lock = LockFile::default();
        lock.stages.insert("b".into(), entry("y"));
        lock.stages.insert("a".into(), entry("x"));
        lock.write(dir.path(), &dot_cache).unwrap();
        let text = fs_err::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert!(text.find("a:").unwrap() < text.find("b:").unwrap(), "{text}");
        let read = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(read.stages, lock.stages);
    }

    #[test]
    fn a_lock_written_is_kept_parsed_for_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        fs_err::create_dir_all(&dot_cache).unwrap();
        let mut lock = LockFile::default();
        lock.stages.insert("a".into(), entry("x"));
        lock.write(dir.path(), &dot_cache).unwrap();
        let text = fs_err::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let kept: serde_json::Value =
            serde_json::from_slice(&fs_err::read(dot_cache.join(PARSED)).unwrap()).unwrap();
        assert_eq!(kept["key"], parsed_key(&text).as_str());
        let read = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), kept["lock"]);
        assert_eq!(read, lock.versioned());
    }

    #[test]
    fn the_parse_kept_is_taken_only_for_the_text_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        fs_err::create_dir_all(&dot_cache).unwrap();
        let mut lock = LockFile::default();
        let mut entry = entry("x");
        let values = serde_json::json!({
            "name": "gbm", "depth": 6, "rate": 0.05, "big": 1e300, "on": true, "none": null,
            "list": [1, "two", 3.5], "nested": {"b": 1, "a": [{"c": "d"}]}, "text": "2024-01-01",
        });
        let values: BTreeMap<String, serde_json::Value> = serde_json::from_value(values).unwrap();
        entry.params.insert("params.yaml".into(), values);
        entry.cmd = vec!["first".into(), "second: with a colon".into()];
        lock.stages.insert("a".into(), entry);
        lock.write(dir.path(), &dot_cache).unwrap();
        let lock_path = dir.path().join(LOCK_FILE);
        let text = fs_err::read_to_string(&lock_path).unwrap();
        let parsed = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(parsed.stages, lock.stages);
        let kept = dot_cache.join(PARSED);
        assert!(kept.is_file(), "the parse is kept");
        // Read back from what was kept: the same lock.
        assert_eq!(LockFile::read(dir.path(), &dot_cache).unwrap(), parsed);
        // What was kept is what is read while the text stays the same …
        let mut other = parsed.clone();
        other.stages.insert("b".into(), self::entry("y"));
        let keep = serde_json::json!({"key": parsed_key(&text), "lock": other});
        fs_err::write(&kept, serde_json::to_vec(&keep).unwrap()).unwrap();
        assert_eq!(LockFile::read(dir.path(), &dot_cache).unwrap(), other);
        // … and not once the text changes (an edit, a `git checkout`).
        fs_err::write(&lock_path, text.replace("size: 2", "size: 5")).unwrap();
        let edited = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(edited.stages["a"].outs[0].size, 5);
        assert!(!edited.stages.contains_key("b"));
        // A damaged parse is parsed again and kept anew.
        fs_err::write(&kept, b"{ not json").unwrap();
        assert_eq!(LockFile::read(dir.path(), &dot_cache).unwrap(), edited);
        assert_eq!(LockFile::read(dir.path(), &dot_cache).unwrap(), edited);
        assert!(
            fs_err::read_to_string(&kept)
                .unwrap()
                .contains(&parsed_key(&fs_err::read_to_string(&lock_path).unwrap()))
        );
    }

    #[test]
    fn the_journal_survives_a_crash_and_is_folded() {
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        journal(&dot_cache, "a", &entry("x")).unwrap();
        let mut file = fs_err::File::options().append(true).open(dot_cache.join(JOURNAL)).unwrap();
        file.write_all("{\"stage\": \"b\", \"entry\": {\"cmd\": \"caf".as_bytes()).unwrap();
        file.write_all(&"é".as_bytes()[..1]).unwrap();
        let lock = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(lock.stages.keys().collect::<Vec<_>>(), ["a"]);
        journal(&dot_cache, "c", &entry("z")).unwrap();
        let lock = LockFile::read(dir.path(), &dot_cache).unwrap();
        assert_eq!(lock.stages.keys().collect::<Vec<_>>(), ["a", "c"], "a record after a torn one");
        lock.write(dir.path(), &dot_cache).unwrap();
        assert!(!dot_cache.join(JOURNAL).exists());
    }
}
