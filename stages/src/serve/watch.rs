//! Hot reload: the server watches the registry's `current` file, and when
//! `pipit model promote` or `rollback` changes the version of a data set it
//! follows, loads that version (its file checked against the BLAKE3 of its
//! entry) and swaps it in between two requests. Requests already answering
//! finish with the model they started with; none fails. A version that
//! cannot be loaded is refused, said once, and the old one keeps serving
//! (until its file changes, or `current` moves away and back).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use std::time::SystemTime;

use super::deploy::Deployment;
use super::{State, current};
use crate::registry::{Place, Registry, Served};

/// How often the registry is looked at.
const EVERY: Duration = Duration::from_millis(250);

/// Follows the registry at `registry` forever; `say` hears every switch and
/// every refusal.
pub async fn follow(state: &State, registry: &Path, say: &(dyn Fn(&str) + Sync)) {
    // Refused versions, with their file's time: a repaired file is tried again.
    let mut refused: BTreeMap<(String, u64), Option<SystemTime>> = BTreeMap::new();
    let stamp = |version: u64| {
        let path = Registry::open(&Place::at(registry)).model_path(version);
        fs_err::metadata(path).and_then(|m| m.modified()).ok()
    };
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        let Ok(current) = current(registry) else { continue };
        // A refused version may be promoted again once fixed.
        refused.retain(|(dataset, version), _| current.get(dataset) == Some(version));
        let wanted: Vec<(String, u64, u64)> = {
            let models = state.models.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            models
                .iter()
                .filter(|(_, d)| d.follows_current)
                .filter_map(|(dataset, d)| {
                    let now = d.primary().version;
                    let next = *current.get(dataset)?;
                    (next != now).then(|| (dataset.clone(), now, next))
                })
                .collect()
        };
        for (dataset, was, version) in wanted {
            if refused.get(&(dataset.clone(), version)).is_some_and(|at| *at == stamp(version)) {
                continue;
            }
            let (dir, name) = (registry.to_path_buf(), dataset.clone());
            let loaded =
                tokio::task::spawn_blocking(move || Served::version(&dir, &name, version)).await;
            match loaded {
                Ok(Ok(served)) => {
                    let mut models =
                        state.models.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                    models.insert(dataset.clone(), Arc::new(Deployment::single(served, true)));
                    say(&format!("now serving {dataset} v{version} (was v{was})"));
                }
                Ok(Err(error)) => {
                    say(&format!(
                        "warning: not serving {dataset} v{version}, still v{was}: {error:#}"
                    ));
                    refused.insert((dataset, version), stamp(version));
                }
                Err(error) => {
                    say(&format!("warning: loading {dataset} v{version} failed: {error}"))
                }
            }
        }
    }
}
