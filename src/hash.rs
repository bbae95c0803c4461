//! BLAKE3 hashes of files and directories.
//!
//! A file's hash is the BLAKE3 of its bytes (memory-mapped and hashed on all
//! cores when large). A directory's hash is the hash of its manifest: the sorted
//! list of (relative path, file hash, size, executable bit), itself stored in the
//! cache so that the directory can be rebuilt.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Files at least this large are memory-mapped and hashed with several threads.
pub const PARALLEL_THRESHOLD: u64 = 1 << 20;

/// Returns the BLAKE3 hex of a file's contents and its size.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let size = fs_err::metadata(path)?.len();
    let mut hasher = blake3::Hasher::new();
    if size >= PARALLEL_THRESHOLD {
        hasher.update_mmap_rayon(path).map_err(|e| with_path(e, path))?;
    } else {
        let bytes = fs_err::read(path)?;
        hasher.update(&bytes);
    }
    Ok((hasher.finalize().to_hex().to_string(), size))
}

fn with_path(error: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("failed to hash `{}`: {error}", path.display()))
}

/// Returns the BLAKE3 hex of `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Returns the first 12 hex digits of a hash, as messages show it (as git
/// shortens commits): enough to tell objects apart, short enough for a line.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Returns true when `text` is a BLAKE3 hex digest (64 lowercase hex digits),
/// the only names objects have.
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads a hash from a file pipit wrote (the lock, a run-cache entry, a
/// manifest), refusing anything else: a hash names a file in the cache, so a
/// crafted `../../x` must never reach a path.
pub fn deserialize_hash<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if is_hash(&text) {
        Ok(text)
    } else {
        let shown: String = text.chars().take(70).collect();
        let more = if shown.len() < text.len() { "…" } else { "" };
        Err(serde::de::Error::custom(format!("`{shown}{more}` is not a BLAKE3 hash")))
    }
}

/// One file of a directory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The path relative to the directory, with `/` separators.
    pub path: String,
    /// The file's BLAKE3 hex.
    #[serde(deserialize_with = "deserialize_hash")]
    pub hash: String,
    /// The file's size in bytes.
    pub size: u64,
    /// Whether the file is executable.
    pub exec: bool,
}

/// The contents of a directory, sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every file, sorted by path.
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    /// Returns a manifest of `files`, sorted.
    pub fn new(mut files: Vec<ManifestEntry>) -> Self {
        files.sort();
        Self { files }
    }

    /// Returns the manifest's canonical bytes (what is hashed and cached).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a manifest from its canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// Returns the directory's hash: the hash of the manifest's bytes.
    pub fn hash(&self) -> String {
        hash_bytes(&self.to_bytes())
    }

    /// Returns the total size of the files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_files_hash_as_blake3() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        fs_err::write(&small, b"hello").unwrap();
        let large = dir.path().join("large");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        fs_err::write(&large, &bytes).unwrap();
        assert_eq!(hash_file(&small).unwrap(), (blake3::hash(b"hello").to_hex().to_string(), 5));
        assert_eq!(hash_file(&large).unwrap().0, blake3::hash(&bytes).to_hex().to_string());
    }

    #[test]
    fn a_manifest_hash_ignores_listing_order() {
        let entry = |path: &str| ManifestEntry {
            path: path.into(),
            hash: "a".repeat(64),
            size: 1,
            exec: false,
        };
        let one = Manifest::new(vec![entry("b"), entry("a")]);
        let two = Manifest::new(vec![entry("a"), entry("b")]);
        assert_eq!(one.hash(), two.hash());
        assert_ne!(one.hash(), Manifest::new(vec![entry("a")]).hash());
        assert_eq!(Manifest::from_bytes(&one.to_bytes()), Some(one));
    }
}
