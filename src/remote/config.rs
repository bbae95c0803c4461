//! Where a project's remotes are configured: `.pipit/config.toml`, committed
//! and shared by the team, and `.pipit/config.local.toml`, git-ignored, for
//! one machine. The local file overrides the committed one key by key.
//!
//! ```toml
//! [core]
//! remote = "storage"          # the default remote
//! executor = "slurm"          # where `repro` runs stages unless told
//!
//! [remote.storage]
//! url = "s3://bucket/prefix"
//! endpoint = "http://127.0.0.1:9000"
//! region = "us-east-1"
//! allow_http = true
//! path_style = true
//! read_only = false
//! ```
//!
//! Credentials are never written here: they come from the environment
//! (`AWS_ACCESS_KEY_ID`, …) as every cloud tool reads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsutil::write_atomic;

/// The folder of pipit's project configuration.
pub const CONFIG_DIR: &str = ".pipit";
/// The committed configuration file.
pub const CONFIG_FILE: &str = ".pipit/config.toml";
/// The git-ignored configuration file of one machine.
pub const LOCAL_CONFIG_FILE: &str = ".pipit/config.local.toml";

/// The keys a remote may have, with what each takes.
pub const REMOTE_KEYS: &[(&str, KeyKind)] = &[
    ("url", KeyKind::Text),
    ("endpoint", KeyKind::Text),
    ("region", KeyKind::Text),
    ("allow_http", KeyKind::Bool),
    ("path_style", KeyKind::Bool),
    ("read_only", KeyKind::Bool),
];

/// Keys that would hold a secret: refused, whatever their spelling.
const SECRET_WORDS: &[&str] =
    &["secret", "password", "token", "access_key", "account_key", "sas", "credential"];

/// What a remote key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Any text.
    Text,
    /// `true` or `false`.
    Bool,
}

/// One remote, as configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Its name.
    pub name: String,
    /// Where it is: `s3://…`, `gs://…`, `az://…`, `http(s)://…`, `file://…` or a path.
    pub url: String,
    /// An S3-compatible server's address (MinIO, Ceph, moto).
    pub endpoint: Option<String>,
    /// The S3 region.
    pub region: Option<String>,
    /// Whether plain `http://` endpoints are allowed.
    pub allow_http: bool,
    /// Whether S3 requests name the bucket in the path (as most S3-compatible servers want).
    pub path_style: bool,
    /// Whether pipit may only read from it (CI on untrusted pull requests).
    pub read_only: bool,
    /// Which file set the URL (the committed or the local one).
    pub local: bool,
}

/// A problem with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file is not valid TOML or not shaped as expected.
    #[error("`{file}` is not a valid pipit configuration: {reason}")]
    Invalid { file: String, reason: String },
    /// No remote of that name.
    #[error("no remote named `{name}`{}", known_list(known))]
    NoSuchRemote { name: String, known: Vec<String> },
    /// A remote of that name exists already.
    #[error("a remote named `{name}` exists already (`{url}`)")]
    Exists { name: String, url: String },
    /// No remote was named and none is the default.
    #[error("no remote given and no default remote{}", known_list(known))]
    NoDefault { known: Vec<String> },
    /// An unknown key.
    #[error("unknown remote key `{key}`; known keys: {}", REMOTE_KEYS.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", "))]
    UnknownKey { key: String },
    /// A key that would hold a secret.
    #[error("`{key}` would put a credential in a configuration file")]
    Secret { key: String },
    /// A value of the wrong kind.
    #[error("`{key}` takes `true` or `false`, not `{value}`")]
    NotABool { key: String, value: String },
    /// A remote name that cannot be a TOML key pipit writes.
    #[error("invalid remote name `{name}`: use letters, digits, `-` and `_`")]
    BadName { name: String },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; add one with `pipit remote add NAME URL --default`".into()
    } else {
        format!(
            " (remotes: {})",
            known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )
    }
}

/// Both configuration files of a project, as tables.
#[derive(Clone, Debug, Default)]
pub struct Config {
    root: PathBuf,
    shared: toml::Table,
    local: toml::Table,
}

impl Config {
    /// Reads the configuration of the project at `root` (empty when absent).
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        Ok(Self {
            root: root.to_path_buf(),
            shared: read_table(root, CONFIG_FILE)?,
            local: read_table(root, LOCAL_CONFIG_FILE)?,
        })
    }

    /// Returns every remote, the local file's keys over the committed file's.
    pub fn remotes(&self) -> Result<Vec<RemoteConfig>, ConfigError> {
        let mut names: Vec<String> =
            [&self.shared, &self.local].iter().flat_map(|t| remote_names(t)).collect();
        names.sort();
        names.dedup();
        names.iter().map(|name| self.remote(name)).collect()
    }

    /// Returns the remote `name` (or the default one when `None`).
    pub fn remote(&self, name: &str) -> Result<RemoteConfig, ConfigError> {
        let shared = remote_table(&self.shared, name);
        let local = remote_table(&self.local, name);
        if shared.is_none() && local.is_none() {
            return Err(ConfigError::NoSuchRemote { name: name.into(), known: self.names() });
        }
        let mut merged = shared.cloned().unwrap_or_default();
        merged.extend(local.cloned().unwrap_or_default());
        let file = if local.is_some() { LOCAL_CONFIG_FILE } else { CONFIG_FILE };
        let invalid = |reason: String| ConfigError::Invalid { file: file.into(), reason };
        for key in merged.keys() {
            check_key(key).map_err(|e| invalid(e.to_string()))?;
        }
        let text = |key: &str| merged.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let flag = |key: &str| merged.get(key).and_then(toml::Value::as_bool).unwrap_or(false);
        let url = text("url").ok_or_else(|| invalid(format!("remote `{name}` has no `url`")))?;
        Ok(RemoteConfig {
            name: name.into(),
            url,
            endpoint: text("endpoint"),
            region: text("region"),
            allow_http: flag("allow_http"),
            path_style: flag("path_style"),
            read_only: flag("read_only"),
            local: local.is_some_and(|t| t.contains_key("url")),
        })
    }

    /// Returns the remote to use: `name`, else the default one.
    pub fn chosen(&self, name: Option<&str>) -> Result<RemoteConfig, ConfigError> {
        match name.map(str::to_owned).or_else(|| self.default_name()) {
            Some(name) => self.remote(&name),
            None => Err(ConfigError::NoDefault { known: self.names() }),
        }
    }

    /// Returns where `repro` runs stages unless told (`[core] executor`,
    /// `"local"` or `"slurm"`; the local file's over the committed one's).
    pub fn executor(&self) -> Result<Option<crate::run::Executor>, ConfigError> {
        for (table, file) in [(&self.local, LOCAL_CONFIG_FILE), (&self.shared, CONFIG_FILE)] {
            let Some(value) = table.get("core").and_then(|core| core.get("executor")) else {
                continue;
            };
            return match value.as_str() {
                Some("local") => Ok(Some(crate::run::Executor::Local)),
                Some("slurm") => Ok(Some(crate::run::Executor::Slurm)),
                _ => Err(ConfigError::Invalid {
                    file: file.into(),
                    reason: format!("`core.executor` must be \"local\" or \"slurm\", not {value}"),
                }),
            };
        }
        Ok(None)
    }

    /// Returns the name of the default remote, if one is set.
    pub fn default_name(&self) -> Option<String> {
        [&self.local, &self.shared]
            .iter()
            .find_map(|table| table.get("core")?.get("remote")?.as_str().map(str::to_owned))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            [&self.shared, &self.local].iter().flat_map(|t| remote_names(t)).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Adds a remote to the committed file (or the local one).
    pub fn add(&mut self, name: &str, url: &str, local: bool) -> Result<(), ConfigError> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) || name.is_empty() {
            return Err(ConfigError::BadName { name: name.into() });
        }
        if let Ok(existing) = self.remote(name) {
            return Err(ConfigError::Exists { name: name.into(), url: existing.url });
        }
        self.set(name, "url", url, local)
    }

    /// Sets one key of a remote (which must exist, unless the key is `url`).
    pub fn set(
        &mut self,
        name: &str,
        key: &str,
        value: &str,
        local: bool,
    ) -> Result<(), ConfigError> {
        let kind = check_key(key)?;
        if key != "url" {
            self.remote(name)?;
        }
        let value = match kind {
            KeyKind::Text => toml::Value::String(value.into()),
            KeyKind::Bool => match value {
                "true" | "yes" | "1" => toml::Value::Boolean(true),
                "false" | "no" | "0" => toml::Value::Boolean(false),
                _ => return Err(ConfigError::NotABool { key: key.into(), value: value.into() }),
            },
        };
        let table = if local { &mut self.local } else { &mut self.shared };
        let remotes =
            table.entry("remote").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(remotes) = remotes {
            let remote =
                remotes.entry(name).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(remote) = remote {
                remote.insert(key.into(), value);
            }
        }
        self.save(local)
    }

    /// Removes a remote from both files (and as the default).
    pub fn remove(&mut self, name: &str) -> Result<(), ConfigError> {
        self.remote(name)?;
        for local in [false, true] {
            let table = if local { &mut self.local } else { &mut self.shared };
            let mut changed = false;
            if let Some(toml::Value::Table(remotes)) = table.get_mut("remote") {
                changed |= remotes.remove(name).is_some();
            }
            if let Some(toml::Value::Table(core)) = table.get_mut("core")
                && core.get("remote").and_then(|v| v.as_str()) == Some(name)
            {
                core.remove("remote");
                changed = true;
            }
            if changed {
                self.save(local)?;
            }
        }
        Ok(())
    }

    /// Makes `name` the default remote.
    pub fn set_default(&mut self, name: &str, local: bool) -> Result<(), ConfigError> {
        self.remote(name)?;
        let table = if local { &mut self.local } else { &mut self.shared };
        let core = table.entry("core").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(core) = core {
            core.insert("remote".into(), toml::Value::String(name.into()));
        }
        self.save(local)
    }

    fn save(&self, local: bool) -> Result<(), ConfigError> {
        let (table, file) =
            if local { (&self.local, LOCAL_CONFIG_FILE) } else { (&self.shared, CONFIG_FILE) };
        let text = toml::to_string(table)
            .map_err(|e| ConfigError::Invalid { file: file.into(), reason: e.to_string() })?;
        write_atomic(&self.root.join(file), text.as_bytes())?;
        if local {
            crate::gitignore::ensure_ignored(&self.root, &[LOCAL_CONFIG_FILE.to_owned()])?;
        }
        Ok(())
    }
}

/// Returns what `key` takes, refusing unknown keys and credentials.
fn check_key(key: &str) -> Result<KeyKind, ConfigError> {
    let lower = key.to_ascii_lowercase();
    if SECRET_WORDS.iter().any(|word| lower.contains(word)) {
        return Err(ConfigError::Secret { key: key.into() });
    }
    REMOTE_KEYS
        .iter()
        .find(|(known, _)| *known == key)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| ConfigError::UnknownKey { key: key.into() })
}

fn read_table(root: &Path, name: &str) -> Result<toml::Table, ConfigError> {
    let text = match fs_err::read_to_string(root.join(name)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(e) => return Err(e.into()),
    };
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Invalid { file: name.into(), reason: e.message().to_owned() })
}

fn remote_names(table: &toml::Table) -> Vec<String> {
    match table.get("remote") {
        Some(toml::Value::Table(remotes)) => remotes.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn remote_table<'t>(table: &'t toml::Table, name: &str) -> Option<&'t toml::Table> {
    table.get("remote")?.get(name)?.as_table()
}

/// Returns the options of every remote key, for `remote list`.
pub fn describe(remote: &RemoteConfig) -> BTreeMap<&'static str, String> {
    let mut options = BTreeMap::new();
    if let Some(endpoint) = &remote.endpoint {
        options.insert("endpoint", endpoint.clone());
    }
    if let Some(region) = &remote.region {
        options.insert("region", region.clone());
    }
    for (key, on) in [
        ("allow_http", remote.allow_http),
        ("path_style", remote.path_style),
        ("read_only", remote.read_only),
    ] {
        if on {
            options.insert(key, "true".into());
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_file_overrides_the_committed_one_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(dir.path()).unwrap();
        config.add("storage", "s3://bucket/cache", false).unwrap();
        config.set("storage", "region", "eu-west-1", false).unwrap();
        config.set_default("storage", false).unwrap();
        config.set("storage", "endpoint", "http://127.0.0.1:9000", true).unwrap();
        config.set("storage", "allow_http", "true", true).unwrap();
        let config = Config::load(dir.path()).unwrap();
        let remote = config.chosen(None).unwrap();
        assert_eq!(remote.url, "s3://bucket/cache");
        assert_eq!(remote.region.as_deref(), Some("eu-west-1"));
        assert_eq!(remote.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(remote.allow_http && !remote.local);
        let shared = fs_err::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(!shared.contains("127.0.0.1"), "{shared}");
    }

    #[test]
    fn credentials_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(dir.path()).unwrap();
        config.add("s", "/tmp/x", false).unwrap();
        for key in ["secret_access_key", "aws_access_key_id", "token", "password"] {
            assert!(matches!(config.set("s", key, "x", false), Err(ConfigError::Secret { .. })));
        }
        assert!(matches!(
            config.set("s", "regoin", "x", false),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            config.set("s", "read_only", "maybe", false),
            Err(ConfigError::NotABool { .. })
        ));
        assert!(matches!(config.add("s", "/tmp/y", false), Err(ConfigError::Exists { .. })));
        config.remove("s").unwrap();
        assert!(Config::load(dir.path()).unwrap().remotes().unwrap().is_empty());
    }
}
