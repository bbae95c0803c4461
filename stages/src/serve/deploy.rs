//! What answers one data set's requests: its current model (followed as the
//! registry changes), a pinned version, or an A/B split between versions
//! that sends each request key to the same version every time.

use std::sync::Arc;

use crate::registry::Served;

/// One version of a deployment and its share of requests.
pub struct Arm {
    /// The model.
    pub served: Arc<Served>,
    /// Its share of requests, in (0, 1].
    pub share: f64,
}

/// The versions that answer one data set.
pub struct Deployment {
    /// The versions and their shares (summing to 1).
    pub arms: Vec<Arm>,
    /// Whether it follows the registry's `current` (neither `--model` nor
    /// `--split` pinned it).
    pub follows_current: bool,
}

impl Deployment {
    /// A deployment of one version.
    pub fn single(served: Served, follows_current: bool) -> Self {
        Self { arms: vec![Arm { served: Arc::new(served), share: 1.0 }], follows_current }
    }

    /// Returns the version that answers the request with `key`: the same
    /// key always gets the same version.
    pub fn pick(&self, key: &str) -> &Arc<Served> {
        if let [only] = self.arms.as_slice() {
            return &only.served;
        }
        let point = fraction(key);
        let mut reached = 0.0;
        for arm in &self.arms {
            reached += arm.share;
            if point < reached {
                return &arm.served;
            }
        }
        &self.arms[self.arms.len() - 1].served
    }

    /// Returns the version that answers when there is only one (the
    /// current one, or the pinned one).
    pub fn primary(&self) -> &Arc<Served> {
        &self.arms[0].served
    }
}

/// Maps a key to a point of [0, 1), uniformly and always the same way.
fn fraction(key: &str) -> f64 {
    let hash = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `--split v3=0.9,v4=0.1` into (version, share) pairs: at least two
/// versions, each once, shares above 0 that sum to 1.
pub fn parse_split(written: &str) -> anyhow::Result<Vec<(u64, f64)>> {
    let mut arms: Vec<(u64, f64)> = Vec::new();
    for part in written.split(',').map(str::trim) {
        let Some((version, share)) = part.split_once('=') else {
            anyhow::bail!("`--split`: `{part}` is not VERSION=SHARE (as in `v3=0.9,v4=0.1`)");
        };
        let version: u64 = version.trim().trim_start_matches('v').parse().map_err(|_| {
            anyhow::anyhow!("`--split`: `{version}` is not a version (`v3` or `3`)")
        })?;
        let share: f64 = share
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 1.0)
            .ok_or_else(|| {
                anyhow::anyhow!("`--split`: the share `{share}` is not a number in (0, 1]")
            })?;
        if arms.iter().any(|(v, _)| *v == version) {
            anyhow::bail!("`--split` names v{version} twice");
        }
        arms.push((version, share));
    }
    if arms.len() < 2 {
        anyhow::bail!("`--split` needs two versions or more, as in `v3=0.9,v4=0.1`");
    }
    let total: f64 = arms.iter().map(|(_, s)| s).sum();
    if (total - 1.0).abs() > 1e-6 {
        anyhow::bail!("`--split` shares sum to {total}, not 1");
    }
    Ok(arms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_and_bad_ones_say_why() {
        assert_eq!(parse_split("v3=0.9, 4=0.1").unwrap(), [(3, 0.9), (4, 0.1)]);
        assert!(parse_split("v3=0.9").unwrap_err().to_string().contains("two versions"));
        assert!(parse_split("v3=0.5,v4=0.4").unwrap_err().to_string().contains("sum to 0.9"));
        assert!(parse_split("v3=0.5,v3=0.5").unwrap_err().to_string().contains("twice"));
        assert!(parse_split("v3=x,v4=1").unwrap_err().to_string().contains("not a number"));
        assert!(parse_split("three=0.5,v4=0.5").unwrap_err().to_string().contains("not a version"));
    }

    #[test]
    fn keys_spread_uniformly_and_stick() {
        let points: Vec<f64> = (0..10_000).map(|i| fraction(&format!("user-{i}"))).collect();
        let below = points.iter().filter(|&&p| p < 0.1).count();
        assert!((900..1100).contains(&below), "{below}");
        assert!(points.iter().all(|p| (0.0..1.0).contains(p)));
        assert_eq!(fraction("user-7"), fraction("user-7"));
    }
}
