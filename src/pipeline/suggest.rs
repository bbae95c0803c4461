//! "Did you mean …?" for unknown keys and unknown stage names.

use super::error::{ErrorKind, PipelineError};
use super::source::SourceFile;
use super::yaml::Key;

/// Returns the candidate closest to `word`, if one is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| {
            // A candidate with nothing in common with a short word is no typo of it.
            (*distance <= 2.max(word.len() / 4) && *distance < word.chars().count())
                || candidate.starts_with(word)
                || word.starts_with(candidate)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Returns the error for `key`, which is none of `valid`, in `place`.
pub fn unknown_key(key: &Key, place: &str, valid: &[&str], file: &SourceFile) -> PipelineError {
    let kind = ErrorKind::UnknownKey {
        key: key.name.clone(),
        place: place.to_owned(),
        suggestion: closest(&key.name, valid.iter().copied()).map(str::to_owned),
    };
    PipelineError::new(kind, file, key.span)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["cmd", "deps", "outs", "params", "always_changed"];
        assert_eq!(closest("dep", keys), Some("deps"));
        assert_eq!(closest("prams", keys), Some("params"));
        assert_eq!(closest("always_change", keys), Some("always_changed"));
        assert_eq!(closest("zzzzzz", keys), None);
    }
}
