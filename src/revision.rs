//! Files as a git revision has them, or as the workspace does: from git when
//! the revision tracks them, else from the cache by the hash that revision's
//! `pipeline.lock` records (a git-ignored out, or a file inside a cached
//! directory).

use std::collections::HashMap;

use crate::lockfile::{LOCK_FILE, LockFile, LockedPath};
use crate::workspace::Workspace;

/// The name the diffs give the working tree.
pub const WORKSPACE: &str = "workspace";

/// One revision's files.
pub struct Revision<'w> {
    files: &'w Workspace,
    rev: String,
    /// The revision's lock file, once read (`None` inside when it has none).
    lock: Option<Option<LockFile>>,
    /// Files inside cached directories, by path, with their hashes.
    cached: HashMap<String, String>,
}

impl<'w> Revision<'w> {
    /// Returns revision `rev` of the repository (or [`WORKSPACE`]).
    pub fn new(files: &'w Workspace, rev: &str) -> Self {
        Self { files, rev: rev.to_owned(), lock: None, cached: HashMap::new() }
    }

    /// The revision's name.
    pub fn name(&self) -> &str {
        &self.rev
    }

    fn is_workspace(&self) -> bool {
        self.rev == WORKSPACE
    }

    /// Returns the revision's lock file, read once.
    fn lock(&mut self) -> anyhow::Result<Option<&LockFile>> {
        if self.lock.is_none() {
            let text = crate::git::show_many(&self.files.root, &self.rev, &[LOCK_FILE])?.pop();
            let parsed = match text.flatten() {
                None => None,
                Some(bytes) => {
                    Some(serde_saphyr::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                        anyhow::anyhow!(
                            "`{LOCK_FILE}` at `{}` is not a valid lock file: {e}",
                            self.rev
                        )
                    })?)
                }
            };
            self.lock = Some(parsed);
        }
        Ok(self.lock.as_ref().and_then(Option::as_ref))
    }

    /// Returns what the revision's lock records for the out at `path`.
    fn locked(&mut self, path: &str) -> anyhow::Result<Option<LockedPath>> {
        let Some(lock) = self.lock()? else { return Ok(None) };
        let outs = lock.stages.values().flat_map(|entry| &entry.outs);
        Ok(outs.into_iter().find(|out| out.path == path).cloned())
    }

    /// Returns the bytes of each of `paths` (relative to the root) at this
    /// revision; `None` for a file it does not have.
    pub fn read(&mut self, paths: &[String]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        if self.is_workspace() {
            return paths
                .iter()
                .map(|path| {
                    let file = self.files.root.join(path);
                    if file.is_file() {
                        fs_err::read(&file).map(Some).map_err(anyhow::Error::from)
                    } else {
                        Ok(None)
                    }
                })
                .collect();
        }
        let names: Vec<&str> = paths.iter().map(String::as_str).collect();
        let in_git = crate::git::show_many(&self.files.root, &self.rev, &names)?;
        let mut found = Vec::with_capacity(paths.len());
        for (path, content) in paths.iter().zip(in_git) {
            if content.is_some() {
                found.push(content);
                continue;
            }
            let hash = match self.cached.get(path) {
                Some(hash) => Some(hash.clone()),
                None => self.locked(path)?.map(|out| out.hash),
            };
            let Some(hash) = hash else {
                found.push(None);
                continue;
            };
            let bytes = self.files.cache.read(&hash).map_err(|e| {
                anyhow::anyhow!(
                    "`{path}` at `{}` is neither in git nor readable from the cache ({e}); \
                     `pipit pull` may bring it",
                    self.rev
                )
            })?;
            found.push(Some(bytes));
        }
        Ok(found)
    }

    /// Returns the files at `path` in this revision: the path itself when it
    /// is a file, every file under it (sorted) when it is a directory, none
    /// when it has neither.
    pub fn files_at(&mut self, path: &str) -> anyhow::Result<Vec<String>> {
        if self.is_workspace() {
            let full = self.files.root.join(path);
            if full.is_file() {
                return Ok(vec![path.to_owned()]);
            }
            let mut found: Vec<String> = walkdir::WalkDir::new(&full)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_file())
                .filter_map(|entry| {
                    let relative = entry.path().strip_prefix(&self.files.root).ok()?;
                    Some(relative.to_string_lossy().replace('\\', "/"))
                })
                .collect();
            found.sort();
            return Ok(found);
        }
        let tracked = crate::git::list_files(&self.files.root, &self.rev, path)?;
        if !tracked.is_empty() {
            return Ok(tracked);
        }
        let Some(out) = self.locked(path)? else { return Ok(Vec::new()) };
        if out.nfiles.is_none() {
            return Ok(vec![path.to_owned()]);
        }
        match self.files.cache.manifest(&out.hash) {
            Some(manifest) => Ok(manifest
                .files
                .into_iter()
                .map(|entry| {
                    let inside = format!("{path}/{}", entry.path);
                    self.cached.insert(inside.clone(), entry.hash);
                    inside
                })
                .collect()),
            None => anyhow::bail!(
                "the directory `{path}` at `{}` is not in the cache (object {}); `pipit pull` may bring it",
                self.rev,
                crate::hash::short(&out.hash)
            ),
        }
    }
}

impl Revision<'_> {
    /// Returns the pipeline as this revision declares it, when it differs
    /// from `current`'s file and can be read: its pipeline file, params.yaml,
    /// and the vars and params files it names, taken from the revision into
    /// a scratch folder and loaded there. `None` for the workspace, for the
    /// same file, or for one that does not load at that revision.
    pub fn pipeline(
        &mut self,
        current: &crate::pipeline::Pipeline,
    ) -> anyhow::Result<Option<crate::pipeline::Pipeline>> {
        if self.is_workspace() {
            return Ok(None);
        }
        let name = current.file.name.to_string();
        let Some(Some(bytes)) = self.read(std::slice::from_ref(&name))?.pop() else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if text == *current.file.text {
            return Ok(None);
        }
        let scratch = tempfile::tempdir()?;
        let file =
            crate::pipeline::SourceFile::new(&name, scratch.path().join(&name), text.clone());
        let mut wanted = vec!["params.yaml".to_owned()];
        if let Ok(document) = crate::pipeline::yaml::parse(&file) {
            named_files(&document, &mut wanted);
        }
        wanted.retain(|path| crate::containment::check_relative(path).is_ok());
        let contents = self.read(&wanted)?;
        fs_err::write(scratch.path().join(&name), &text)?;
        for (path, content) in wanted.iter().zip(contents) {
            if let Some(content) = content {
                let to = scratch.path().join(path);
                if let Some(parent) = to.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                fs_err::write(to, content)?;
            }
        }
        Ok(crate::pipeline::load(scratch.path()).ok())
    }
}

/// Adds the files a pipeline names for values: its `vars` files and the
/// params files its stages read (`- other.yaml: [keys]`).
fn named_files(node: &crate::pipeline::yaml::Node, found: &mut Vec<String>) {
    use crate::pipeline::yaml::Value;
    let Value::Map(entries) = &node.value else { return };
    for (key, value) in entries {
        match (key.name.as_str(), &value.value) {
            ("vars" | "params", Value::List(items)) => {
                for item in items {
                    let file = match &item.value {
                        Value::String(text) if key.name == "vars" => text.split(':').next(),
                        Value::Map(files) => files.first().map(|(k, _)| k.name.as_str()),
                        _ => None,
                    };
                    if let Some(file) = file.filter(|f| !f.contains("${"))
                        && !found.iter().any(|known| known == file)
                    {
                        found.push(file.to_owned());
                    }
                }
            }
            _ => named_files(value, found),
        }
    }
}
