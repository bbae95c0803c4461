//! The runs history on a remote: `history/<hash>.jsonl` segments, each some
//! records (with their schemas) that one push sent, named by a hash of its
//! bytes so that no two writers collide. A push first takes the segments
//! the local history has not seen, then sends the records the remote lacks
//! as one new segment; a pull only takes. What has been seen and sent is
//! kept in `.cache/history/remote-<name>.json`.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::transfer::{list_folder, request};
use super::{Remote, RemoteError};
use crate::runs::{self, Record};
use crate::workspace::Workspace;

/// The remote's folder of segments.
const FOLDER: &str = "history";

/// What the local history knows of one remote's.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Synced {
    /// Segments taken or sent.
    segments: BTreeSet<String>,
    /// Ids of the records the remote holds.
    ids: BTreeSet<String>,
}

impl Synced {
    fn path(workspace: &Workspace, remote: &Remote) -> std::path::PathBuf {
        let safe: String = remote
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_".contains(c) { c } else { '_' })
            .collect();
        workspace.dot_cache.join(runs::HISTORY_DIR).join(format!("remote-{safe}.json"))
    }

    fn load(workspace: &Workspace, remote: &Remote) -> Synced {
        fs_err::read(Self::path(workspace, remote))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn save(&self, workspace: &Workspace, remote: &Remote) -> std::io::Result<()> {
        let path = Self::path(workspace, remote);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        crate::fsutil::write_atomic(
            &path,
            &serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )
    }
}

/// How many records moved each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub sent: usize,
    pub received: usize,
}

/// Takes the remote's segments this history has not seen, keeping their
/// records it lacks; returns how many it kept.
pub async fn take(
    workspace: &Workspace,
    remote: &Remote,
    jobs: usize,
) -> Result<usize, RemoteError> {
    let mut synced = Synced::load(workspace, remote);
    let Some(listed) = list_folder(remote, FOLDER).await? else {
        return Ok(0);
    };
    let names: Vec<String> = listed
        .iter()
        .filter_map(|meta| match remote.relative(&meta.location)?.as_slice() {
            [FOLDER, name] if name.ends_with(".jsonl") => Some((*name).to_owned()),
            _ => None,
        })
        .filter(|name| !synced.segments.contains(name))
        .collect();
    if names.is_empty() {
        return Ok(0);
    }
    let segments: Vec<(String, Vec<u8>)> = futures::stream::iter(names)
        .map(|name| async move {
            let key = remote.folder(&format!("{FOLDER}/{name}"));
            let bytes = remote
                .store
                .get(&key)
                .await
                .map_err(|e| request(remote, "downloading", key.as_ref(), e))?
                .bytes()
                .await
                .map_err(|e| request(remote, "downloading", key.as_ref(), e))?;
            Ok::<_, RemoteError>((name, bytes.to_vec()))
        })
        .buffer_unordered(jobs)
        .try_collect()
        .await?;
    let local = runs::read(&workspace.dot_cache)?;
    let mut known: BTreeSet<String> = local.records.iter().map(|r| r.id.clone()).collect();
    let mut kept: Vec<Record> = Vec::new();
    for (name, bytes) in segments {
        let segment = runs::parse(std::sync::Arc::new(bytes));
        for record in segment.records {
            synced.ids.insert(record.id.clone());
            if known.insert(record.id.clone()) {
                kept.push(record);
            }
        }
        synced.segments.insert(name);
    }
    kept.sort_by(|a, b| a.time.cmp(&b.time));
    runs::append(&workspace.dot_cache, &kept)?;
    synced.save(workspace, remote)?;
    Ok(kept.len())
}

/// Takes what the remote has, then sends the records it lacks as one segment.
pub async fn exchange(
    workspace: &Workspace,
    remote: &Remote,
    jobs: usize,
) -> Result<Moved, RemoteError> {
    let received = take(workspace, remote, jobs).await?;
    let mut synced = Synced::load(workspace, remote);
    let local = runs::read(&workspace.dot_cache)?;
    let unsent: Vec<Record> =
        local.records.into_iter().filter(|r| !synced.ids.contains(&r.id)).collect();
    if unsent.is_empty() {
        return Ok(Moved { sent: 0, received });
    }
    let text = runs::segment(&unsent)?;
    let name = format!("{}.jsonl", &crate::hash::hash_bytes(text.as_bytes())[..32]);
    let key = remote.folder(&format!("{FOLDER}/{name}"));
    remote
        .store
        .put(&key, PutPayload::from(text.into_bytes()))
        .await
        .map_err(|e| request(remote, "uploading", key.as_ref(), e))?;
    synced.ids.extend(unsent.iter().map(|r| r.id.clone()));
    synced.segments.insert(name);
    synced.save(workspace, remote)?;
    Ok(Moved { sent: unsent.len(), received })
}
