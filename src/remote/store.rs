//! Opening a configured remote as an [`ObjectStore`], and where things live
//! in it.

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as Key;

use super::{RemoteConfig, RemoteError};

/// An opened remote.
#[derive(Debug, Clone)]
pub struct Remote {
    /// Its name in the configuration.
    pub name: String,
    /// Its URL as configured.
    pub url: String,
    /// Whether pipit may only read from it.
    pub read_only: bool,
    /// Whether it is a plain HTTP cache, which may not list its keys (a
    /// WebDAV server does, with `PROPFIND`; a plain one answers only `GET`,
    /// `PUT` and `HEAD`): pipit then asks for each key it needs.
    pub plain_http: bool,
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    prefix: Key,
    /// The key that signs run-cache entries, when one is set: entries
    /// pushed carry a signature, and entries pulled without a valid one
    /// are ignored.
    signing_key: Option<[u8; 32]>,
}

impl Remote {
    /// Opens `config` for the project at `root`; `env` holds the environment's
    /// variables, from which the cloud stores take their credentials.
    pub fn open(
        config: &RemoteConfig,
        root: &Path,
        env: &[(String, String)],
    ) -> Result<Self, RemoteError> {
        let failed = |reason: String| RemoteError::Open {
            remote: config.name.clone(),
            url: config.url.clone(),
            reason,
        };
        let url = url_of(&config.url, root).map_err(failed)?;
        if url.scheme() == "file" {
            let folder = url.to_file_path().map_err(|()| failed("not a local path".into()))?;
            fs_err::create_dir_all(&folder).map_err(|e| failed(e.to_string()))?;
        }
        let mut options: Vec<(String, String)> = env
            .iter()
            .filter(|(key, _)| {
                ["AWS_", "GOOGLE_", "AZURE_"].iter().any(|prefix| key.starts_with(prefix))
            })
            .map(|(key, value)| (key.to_ascii_lowercase(), value.clone()))
            .collect();
        if let Some(endpoint) = &config.endpoint {
            let key = match url.scheme() {
                "az" | "azure" | "abfs" | "abfss" => "azure_storage_endpoint",
                "gs" => "google_base_url",
                _ => "aws_endpoint",
            };
            options.push((key.into(), endpoint.clone()));
        }
        if let Some(region) = &config.region {
            options.push(("aws_region".into(), region.clone()));
        }
        if config.allow_http {
            options.push(("allow_http".into(), "true".into()));
        }
        if config.path_style {
            options.push(("aws_virtual_hosted_style_request".into(), "false".into()));
        }
        let (store, prefix) =
            object_store::parse_url_opts(&url, options).map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            name: config.name.clone(),
            url: config.url.clone(),
            read_only: config.read_only,
            plain_http: matches!(url.scheme(), "http" | "https"),
            store: Arc::from(store),
            prefix,
            signing_key: None,
        })
    }

    /// Signs and checks run-cache entries with a key derived from `secret`.
    pub fn with_signing_secret(mut self, secret: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key("pipit 2026 run-cache entry signature");
        hasher.update(secret);
        self.signing_key = Some(*hasher.finalize().as_bytes());
        self
    }

    /// Returns the signature of the run-cache entry `run` holding `bytes`
    /// (a keyed BLAKE3 of its name and bytes), when a key is set.
    pub fn signature(&self, run: &str, bytes: &[u8]) -> Option<String> {
        let key = self.signing_key.as_ref()?;
        let mut hasher = blake3::Hasher::new_keyed(key);
        hasher.update(run.as_bytes());
        hasher.update(b"\n");
        hasher.update(bytes);
        Some(hasher.finalize().to_hex().to_string())
    }

    /// Returns the key of the signature of the run-cache entry `run`.
    pub fn signature_key(&self, run: &str) -> Key {
        self.key(&format!("runs/{run}.sig"))
    }

    /// Returns the key of the object `hash`.
    pub fn object_key(&self, hash: &str) -> Key {
        let (head, rest) = hash.split_at(hash.len().min(2));
        self.key(&format!("objects/{head}/{rest}"))
    }

    /// Returns the key of the run-cache entry `run`.
    pub fn run_key(&self, run: &str) -> Key {
        self.key(&format!("runs/{run}.json"))
    }

    /// Returns the folder of objects or of runs (`"objects"`, `"runs"`).
    pub fn folder(&self, name: &str) -> Key {
        self.key(name)
    }

    fn key(&self, relative: &str) -> Key {
        let mut key = self.prefix.clone();
        for part in relative.split('/') {
            key = key.join(part);
        }
        key
    }

    /// Returns a key relative to this remote's prefix (`objects/ab/cd…`).
    pub fn relative<'k>(&self, key: &'k Key) -> Option<Vec<&'k str>> {
        let mut parts = key.parts();
        for expected in self.prefix.parts() {
            if parts.next()?.as_ref() != expected.as_ref() {
                return None;
            }
        }
        Some(key.as_ref().split('/').skip(self.prefix.parts().count()).collect())
    }
}

/// Turns what the user wrote into a URL: a plain path (relative to the
/// project) becomes `file://`.
fn url_of(written: &str, root: &Path) -> Result<url::Url, String> {
    if written.contains("://") {
        return url::Url::parse(written).map_err(|e| format!("not a URL: {e}"));
    }
    let path = Path::new(written);
    let absolute = if path.is_absolute() { path.to_path_buf() } else { root.join(path) };
    let absolute = crate::pipeline::paths::normalise_absolute(&absolute);
    url::Url::from_directory_path(&absolute)
        .map_err(|()| format!("`{written}` is not a usable path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_path_is_a_folder_relative_to_the_project() {
        let url = url_of("../shared-cache", Path::new("/home/me/project")).unwrap();
        assert_eq!(url.as_str(), "file:///home/me/shared-cache/");
        assert_eq!(url_of("s3://b/p", Path::new("/x")).unwrap().scheme(), "s3");
        assert!(url_of("s3 ://b", Path::new("/x")).is_err());
    }
}
