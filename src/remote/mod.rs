//! Remote caches: a project's objects and run-cache entries shared through an
//! object store (S3 and S3-compatible servers, Google Cloud Storage, Azure,
//! a plain HTTP/WebDAV server, a folder), with the same layout as `.cache/`:
//! `objects/ab/cdef…` and `runs/KEY.json` under the remote's URL.
//!
//! Never prints and never reads the environment: the CLI passes the
//! environment's credentials in and renders [`transfer::Progress`].

pub mod config;
pub mod history;
pub mod profile;
pub mod store;
pub mod transfer;
pub mod wanted;

pub use config::{Config, ConfigError, RemoteConfig};
pub use store::Remote;

/// Why a transfer could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The remote could not be opened.
    #[error("cannot open remote `{remote}` (`{url}`): {reason}")]
    Open { remote: String, url: String, reason: String },
    /// A request to the remote failed (after retries).
    #[error("remote `{remote}`: {action} `{key}` failed: {reason}")]
    Request { remote: String, action: &'static str, key: String, reason: String },
    /// An object arrived with other bytes than its hash names.
    #[error(
        "remote `{remote}` holds a corrupted object {}: its bytes hash to {}; it was not stored",
        crate::hash::short(hash),
        crate::hash::short(actual)
    )]
    Corrupted { remote: String, hash: String, actual: String },
    /// The remote is read-only and something tried to write to it.
    #[error("remote `{remote}` is read-only (`read_only = true`): nothing was pushed")]
    ReadOnly { remote: String },
    /// The local cache could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
