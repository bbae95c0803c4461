//! Moving objects and run-cache entries between the local cache and a remote:
//! only what is missing crosses the wire, several at a time; a download
//! becomes an object only once its bytes hash to its name, an upload is one
//! atomic PUT (a multipart upload for large files, aborted on failure), so
//! that neither side ever holds half an object under its final name.
//! Transient errors are retried with exponential backoff by the object
//! store's client.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};

use super::{Remote, RemoteError};
use crate::cache::ObjectError;
use crate::hash::is_hash;
use crate::runcache::RunCache;
use crate::workspace::Workspace;

/// Files at least this large are uploaded in parts.
const MULTIPART_THRESHOLD: u64 = 64 << 20;
/// The size of one part, and of one read from disk.
const PART_SIZE: usize = 16 << 20;
/// Below this many objects, each is asked for (HEAD); above, the remote's
/// folder of objects is listed once.
const LIST_THRESHOLD: usize = 64;
/// How many MiB of file contents uploads may hold in memory at once: a
/// small file is read whole, a large one holds a part being read and up to
/// [`PARTS_IN_FLIGHT`] being sent.
const UPLOAD_BUDGET_MIB: u32 = 512;
/// Parts of one multipart upload sent at once.
const PARTS_IN_FLIGHT: usize = 4;

/// What a transfer is doing, for the CLI to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// This many files and bytes will move.
    Planned { files: usize, bytes: u64 },
    /// One more file moved, with its size.
    Moved { bytes: u64 },
}

/// What a transfer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects moved.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Objects the other side had already.
    pub present: usize,
    /// Run-cache entries moved.
    pub runs: usize,
    /// Records of the runs history moved (sent by a push, taken by a pull).
    pub records: usize,
    /// Objects wanted but in neither place.
    pub missing: Vec<String>,
    /// Run-cache entries on the remote ignored for want of a valid signature.
    pub unsigned: Vec<String>,
}

/// Runs `future` to its end: on the runtime this thread belongs to (a stage's
/// worker during `repro --pull`), else on a runtime of its own.
fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return Ok(handle.block_on(future));
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    Ok(runtime.block_on(future))
}

pub(super) fn request(
    remote: &Remote,
    action: &'static str,
    key: &str,
    error: impl ToString,
) -> RemoteError {
    RemoteError::Request {
        remote: remote.name.clone(),
        action,
        key: key.into(),
        reason: without_html(&error.to_string()),
    }
}

/// Drops the HTML page a web server's error carries: the status says it.
fn without_html(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    match lower.find("<html").or_else(|| lower.find("<!doctype")) {
        Some(start) => reason[..start].trim_end().trim_end_matches(':').to_owned(),
        None => reason.trim_end().to_owned(),
    }
}

/// Returns which of `hashes` the remote holds.
async fn remote_has(
    remote: &Remote,
    hashes: &BTreeSet<String>,
    jobs: usize,
) -> Result<BTreeSet<String>, RemoteError> {
    Ok(remote_sizes(remote, hashes, jobs).await?.into_keys().collect())
}

/// Returns the size of each of `hashes` that the remote holds: one listing
/// of its objects for many, a `HEAD` request each for a few.
async fn remote_sizes(
    remote: &Remote,
    hashes: &BTreeSet<String>,
    jobs: usize,
) -> Result<BTreeMap<String, u64>, RemoteError> {
    if hashes.len() >= LIST_THRESHOLD
        && let Some(listed) = list_folder(remote, "objects").await?
    {
        return Ok(listed
            .iter()
            .filter_map(|meta| {
                let parts = remote.relative(&meta.location)?;
                match parts.as_slice() {
                    ["objects", head, rest] => Some((format!("{head}{rest}"), meta.size)),
                    _ => None,
                }
            })
            .filter(|(hash, _)| hashes.contains(hash))
            .collect());
    }
    heads(remote, hashes, jobs, |hash| remote.object_key(hash)).await
}

/// Asks for each of `names` (`HEAD`, `jobs` at a time) at the key `key_of`
/// gives; returns the size of each the remote holds.
async fn heads(
    remote: &Remote,
    names: &BTreeSet<String>,
    jobs: usize,
    key_of: impl Fn(&str) -> object_store::path::Path,
) -> Result<BTreeMap<String, u64>, RemoteError> {
    let key_of = &key_of;
    let found: Vec<Option<(String, u64)>> = futures::stream::iter(names.iter().cloned())
        .map(|name| async move {
            let key = key_of(&name);
            match remote.store.head(&key).await {
                Ok(meta) => Ok(Some((name, meta.size))),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(request(remote, "asking for", key.as_ref(), e)),
            }
        })
        .buffer_unordered(jobs)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Lists every key under the remote's folder `name` (`objects`, `runs`);
/// `None` when the remote is a plain HTTP cache that cannot list.
pub(super) async fn list_folder(
    remote: &Remote,
    name: &str,
) -> Result<Option<Vec<object_store::ObjectMeta>>, RemoteError> {
    let folder = remote.folder(name);
    match remote.store.list(Some(&folder)).try_collect().await {
        Ok(listed) => Ok(Some(listed)),
        // A folder never written to is missing to a WebDAV server.
        Err(object_store::Error::NotFound { .. }) => Ok(Some(Vec::new())),
        Err(_) if remote.plain_http => Ok(None),
        Err(e) => Err(request(remote, "listing", folder.as_ref(), e)),
    }
}

/// Returns every object `hashes` need, a directory's manifest adding its
/// files (manifests read from the local cache).
pub fn with_manifest_files(workspace: &Workspace, hashes: &BTreeSet<String>) -> BTreeSet<String> {
    let mut all = hashes.clone();
    for hash in hashes {
        if let Some(manifest) = workspace.cache.manifest(hash) {
            all.extend(manifest.files.into_iter().map(|f| f.hash));
        }
    }
    all
}

/// Uploads the objects in `hashes` that the remote lacks (and the local cache
/// holds), then the run-cache entries `runs`.
pub fn push(
    workspace: &Workspace,
    remote: &Remote,
    hashes: &BTreeSet<String>,
    runs: &[String],
    jobs: usize,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary, RemoteError> {
    if remote.read_only {
        return Err(RemoteError::ReadOnly { remote: remote.name.clone() });
    }
    block_on(async {
        let mut summary = Summary::default();
        let there = remote_has(remote, hashes, jobs).await?;
        summary.present = there.len();
        let mut todo = Vec::new();
        for hash in hashes.iter().filter(|h| !there.contains(*h)) {
            match fs_err::metadata(workspace.cache.object_path(hash)) {
                Ok(meta) if meta.is_file() => todo.push((hash.clone(), meta.len())),
                _ => summary.missing.push(hash.clone()),
            }
        }
        let bytes = todo.iter().map(|(_, size)| size).sum();
        on_progress(Progress::Planned { files: todo.len(), bytes });
        let budget = tokio::sync::Semaphore::new(UPLOAD_BUDGET_MIB as usize);
        let budget = &budget;
        futures::stream::iter(todo)
            .map(|(hash, size)| async move {
                let _memory = budget
                    .acquire_many(memory_needed(size))
                    .await
                    .map_err(|e| RemoteError::Io(std::io::Error::other(e)))?;
                upload(workspace, remote, &hash, size).await?;
                on_progress(Progress::Moved { bytes: size });
                Ok::<u64, RemoteError>(size)
            })
            .buffer_unordered(jobs)
            .try_for_each(|size| {
                summary.objects += 1;
                summary.bytes += size;
                futures::future::ready(Ok(()))
            })
            .await?;
        summary.runs = push_runs(workspace, remote, runs, jobs).await?;
        summary.records = super::history::exchange(workspace, remote, jobs).await?.sent;
        Ok(summary)
    })?
}

/// Returns the MiB of the upload budget that uploading a file of `size`
/// bytes holds.
fn memory_needed(size: u64) -> u32 {
    let bytes =
        if size < MULTIPART_THRESHOLD { size } else { (PART_SIZE * (PARTS_IN_FLIGHT + 1)) as u64 };
    u32::try_from(bytes.div_ceil(1 << 20)).unwrap_or(u32::MAX).clamp(1, UPLOAD_BUDGET_MIB)
}

/// Uploads one object of `size` bytes, checking it first: a corrupted local
/// object is never pushed.
async fn upload(
    workspace: &Workspace,
    remote: &Remote,
    hash: &str,
    size: u64,
) -> Result<(), RemoteError> {
    let path = workspace.cache.object_path(hash);
    let key = remote.object_key(hash);
    if size < MULTIPART_THRESHOLD {
        return upload_whole(remote, &key, &path, hash).await;
    }
    workspace.cache.check(hash).map_err(|_| corrupted_locally(hash))?;
    let upload = match remote.store.put_multipart(&key).await {
        Ok(upload) => upload,
        // A plain HTTP cache takes a file in one PUT only.
        Err(object_store::Error::NotImplemented { .. }) => {
            return upload_whole(remote, &key, &path, hash).await;
        }
        Err(e) => return Err(request(remote, "starting the upload of", key.as_ref(), e)),
    };
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    match write_parts(&mut writer, &path).await {
        Ok(()) => {
            writer.finish().await.map_err(|e| request(remote, "uploading", key.as_ref(), e))?;
            Ok(())
        }
        Err(error) => {
            // The parts uploaded so far are invisible, but they cost storage
            // until the upload is aborted.
            let _ = writer.abort().await;
            Err(request(remote, "uploading", key.as_ref(), error))
        }
    }
}

/// Uploads the object `hash` at `path` in one PUT, read whole and checked
/// first.
async fn upload_whole(
    remote: &Remote,
    key: &object_store::path::Path,
    path: &std::path::Path,
    hash: &str,
) -> Result<(), RemoteError> {
    let bytes = fs_err::read(path)?;
    if crate::hash::hash_bytes(&bytes) != hash {
        return Err(corrupted_locally(hash));
    }
    remote
        .store
        .put(key, PutPayload::from(bytes))
        .await
        .map_err(|e| request(remote, "uploading", key.as_ref(), e))?;
    Ok(())
}

/// Feeds the file at `path` to a multipart upload, a part at a time.
async fn write_parts(writer: &mut WriteMultipart, path: &std::path::Path) -> Result<(), String> {
    let mut file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; PART_SIZE];
    loop {
        let read = std::io::Read::read(&mut file, &mut buffer).map_err(|e| e.to_string())?;
        if read == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| e.to_string())?;
        writer.write(&buffer[..read]);
    }
}

fn corrupted_locally(hash: &str) -> RemoteError {
    RemoteError::Io(std::io::Error::other(format!(
        "the local object {} is corrupted: not pushed (run `pipit cache verify --repair`)",
        crate::hash::short(hash)
    )))
}

/// Uploads the run-cache entries `runs` the remote lacks; returns how many.
async fn push_runs(
    workspace: &Workspace,
    remote: &Remote,
    runs: &[String],
    jobs: usize,
) -> Result<usize, RemoteError> {
    let there: BTreeSet<String> = match list_folder(remote, "runs").await? {
        Some(listed) => listed.iter().filter_map(|meta| run_name(remote, &meta.location)).collect(),
        None => {
            let wanted = runs.iter().cloned().collect();
            heads(remote, &wanted, jobs, |run| remote.run_key(run)).await?.into_keys().collect()
        }
    };
    let local = RunCache::new(&workspace.dot_cache);
    let todo: Vec<&String> = runs.iter().filter(|key| !there.contains(*key)).collect();
    let count = todo.len();
    futures::stream::iter(todo)
        .map(|key| {
            let local = &local;
            async move {
                let bytes = fs_err::read(local.path_of(key))?;
                // The signature first: an entry is never visible unsigned.
                if let Some(signature) = remote.signature(key, &bytes) {
                    let target = remote.signature_key(key);
                    remote
                        .store
                        .put(&target, PutPayload::from(signature.into_bytes()))
                        .await
                        .map_err(|e| request(remote, "uploading", target.as_ref(), e))?;
                }
                let target = remote.run_key(key);
                remote
                    .store
                    .put(&target, PutPayload::from(bytes))
                    .await
                    .map_err(|e| request(remote, "uploading", target.as_ref(), e))?;
                Ok::<(), RemoteError>(())
            }
        })
        .buffer_unordered(jobs)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(count)
}

fn run_name(remote: &Remote, key: &object_store::path::Path) -> Option<String> {
    match remote.relative(key)?.as_slice() {
        ["runs", name] => name.strip_suffix(".json").filter(|k| is_hash(k)).map(str::to_owned),
        _ => None,
    }
}

/// Downloads the objects in `hashes` that the local cache lacks (a
/// directory's manifest first, then its files), and every run-cache entry
/// the remote has and the local cache lacks when `runs` is set.
pub fn pull(
    workspace: &Workspace,
    remote: &Remote,
    hashes: &BTreeSet<String>,
    runs: bool,
    jobs: usize,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary, RemoteError> {
    block_on(async {
        let mut summary = Summary::default();
        if runs {
            summary.runs = pull_runs(workspace, remote, jobs, &mut summary).await?;
            summary.records = super::history::take(workspace, remote, jobs).await?;
        }
        let first: BTreeSet<String> =
            hashes.iter().filter(|h| !workspace.cache.contains(h)).cloned().collect();
        summary.present += hashes.len() - first.len();
        download_all(workspace, remote, &first, jobs, on_progress, &mut summary).await?;
        let all = with_manifest_files(workspace, hashes);
        let second: BTreeSet<String> =
            all.difference(hashes).filter(|h| !workspace.cache.contains(h)).cloned().collect();
        summary.present += all.len() - hashes.len() - second.len();
        download_all(workspace, remote, &second, jobs, on_progress, &mut summary).await?;
        Ok(summary)
    })?
}

/// Returns which of `hashes` the remote holds.
pub fn present(
    remote: &Remote,
    hashes: &BTreeSet<String>,
    jobs: usize,
) -> Result<BTreeSet<String>, RemoteError> {
    block_on(remote_has(remote, hashes, jobs))?
}

/// Returns which of the run-cache entries `keys` the remote holds.
pub fn runs_present(
    remote: &Remote,
    keys: &BTreeSet<String>,
    jobs: usize,
) -> Result<BTreeSet<String>, RemoteError> {
    let found = block_on(heads(remote, keys, jobs, |run| remote.run_key(run)))??;
    Ok(found.into_keys().collect())
}

/// Downloads exactly the objects in `hashes` that the local cache lacks (a
/// directory's manifest without its files).
pub fn fetch_exact(
    workspace: &Workspace,
    remote: &Remote,
    hashes: &BTreeSet<String>,
    jobs: usize,
) -> Result<Summary, RemoteError> {
    block_on(async {
        let mut summary = Summary::default();
        let todo: BTreeSet<String> =
            hashes.iter().filter(|h| !workspace.cache.contains(h)).cloned().collect();
        summary.present = hashes.len() - todo.len();
        download_all(workspace, remote, &todo, jobs, &|_| {}, &mut summary).await?;
        Ok(summary)
    })?
}

async fn download_all(
    workspace: &Workspace,
    remote: &Remote,
    hashes: &BTreeSet<String>,
    jobs: usize,
    on_progress: &(dyn Fn(Progress) + Sync),
    summary: &mut Summary,
) -> Result<(), RemoteError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let found: Vec<(String, u64)> = remote_sizes(remote, hashes, jobs).await?.into_iter().collect();
    let have: BTreeSet<&String> = found.iter().map(|(h, _)| h).collect();
    summary.missing.extend(hashes.iter().filter(|h| !have.contains(h)).cloned());
    on_progress(Progress::Planned {
        files: found.len(),
        bytes: found.iter().map(|(_, size)| size).sum(),
    });
    let moved: Vec<u64> = futures::stream::iter(found)
        .map(|(hash, _)| async move {
            let bytes = download(workspace, remote, &hash).await?;
            on_progress(Progress::Moved { bytes });
            Ok::<u64, RemoteError>(bytes)
        })
        .buffer_unordered(jobs)
        .try_collect()
        .await?;
    summary.objects += moved.len();
    summary.bytes += moved.iter().sum::<u64>();
    Ok(())
}

/// Downloads one object to a temporary file, checks its hash and only then
/// makes it an object; returns its size.
async fn download(workspace: &Workspace, remote: &Remote, hash: &str) -> Result<u64, RemoteError> {
    let key = remote.object_key(hash);
    let result = remote
        .store
        .get(&key)
        .await
        .map_err(|e| request(remote, "downloading", key.as_ref(), e))?;
    let mut stream = result.into_stream();
    let mut writer = workspace.cache.writer(hash).map_err(object_error)?;
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| request(remote, "downloading", key.as_ref(), e))?;
        size += chunk.len() as u64;
        writer.write(&chunk)?;
    }
    match writer.finish() {
        Ok(()) => Ok(size),
        Err(ObjectError::Corrupted { hash, actual }) => {
            Err(RemoteError::Corrupted { remote: remote.name.clone(), hash, actual })
        }
        Err(error) => Err(object_error(error)),
    }
}

fn object_error(error: ObjectError) -> RemoteError {
    match error {
        ObjectError::Io(io) => RemoteError::Io(io),
        other => RemoteError::Io(std::io::Error::other(other.to_string())),
    }
}

/// Downloads the run-cache entries the local cache lacks; each is checked
/// as a run record before it is kept. Returns how many.
async fn pull_runs(
    workspace: &Workspace,
    remote: &Remote,
    jobs: usize,
    summary: &mut Summary,
) -> Result<usize, RemoteError> {
    // A remote that cannot list gives the entries `repro --pull` asks for by name only.
    let Some(listed) = list_folder(remote, "runs").await? else {
        return Ok(0);
    };
    let local = RunCache::new(&workspace.dot_cache);
    let todo: Vec<String> = listed
        .iter()
        .filter_map(|meta| run_name(remote, &meta.location))
        .filter(|key| local.get(key).is_none())
        .collect();
    let kept: Vec<Kept> = futures::stream::iter(todo)
        .map(|key| {
            let local = &local;
            async move {
                let source = remote.run_key(&key);
                let bytes = remote
                    .store
                    .get(&source)
                    .await
                    .map_err(|e| request(remote, "downloading", source.as_ref(), e))?
                    .bytes()
                    .await
                    .map_err(|e| request(remote, "downloading", source.as_ref(), e))?;
                if !signed(remote, &key, &bytes).await? {
                    return Ok(Kept::Unsigned(key));
                }
                Ok::<Kept, RemoteError>(if local.adopt(&key, &bytes)? {
                    Kept::Yes
                } else {
                    Kept::No
                })
            }
        })
        .buffer_unordered(jobs)
        .try_collect()
        .await?;
    let mut count = 0;
    for outcome in kept {
        match outcome {
            Kept::Yes => count += 1,
            Kept::Unsigned(key) => summary.unsigned.push(key),
            Kept::No => {}
        }
    }
    Ok(count)
}

/// What became of one run-cache entry from the remote.
enum Kept {
    /// Kept.
    Yes,
    /// Not a valid entry.
    No,
    /// Not signed with the key that is set.
    Unsigned(String),
}

/// Returns whether the entry `run` holding `bytes` carries a valid
/// signature (always true when no key is set).
async fn signed(remote: &Remote, run: &str, bytes: &[u8]) -> Result<bool, RemoteError> {
    let Some(expected) = remote.signature(run, bytes) else {
        return Ok(true);
    };
    let key = remote.signature_key(run);
    let written = match remote.store.get(&key).await {
        Ok(result) => {
            result.bytes().await.map_err(|e| request(remote, "downloading", key.as_ref(), e))?
        }
        Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(request(remote, "downloading", key.as_ref(), e)),
    };
    Ok(constant_time_eq(written.as_ref(), expected.as_bytes()))
}

/// Compares two byte strings in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_web_servers_error_page_is_dropped() {
        let reason = "Server returned non-2xx status code: 500 Internal Server Error: <html>\n<head><title>500</title></head>\n</html>\n";
        assert_eq!(
            without_html(reason),
            "Server returned non-2xx status code: 500 Internal Server Error"
        );
        assert_eq!(without_html("timed out\n"), "timed out");
    }

    #[test]
    fn uploads_hold_at_most_their_budget() {
        assert_eq!(memory_needed(0), 1);
        assert_eq!(memory_needed(1024), 1);
        assert_eq!(memory_needed(3 << 20), 3);
        assert_eq!(memory_needed(10 << 30), 80, "a large file: a part read and four sent");
    }
}
