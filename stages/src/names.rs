//! Suggesting the column a user meant: the same name in another case, else
//! the closest by edit distance when it is close enough to be a typo.

/// Returns ` (did you mean `Churn`?)` for `wanted` among `names`, or nothing.
pub fn did_you_mean<'a>(wanted: &str, names: impl IntoIterator<Item = &'a String>) -> String {
    closest(wanted, names).map(|name| format!(" (did you mean `{name}`?)")).unwrap_or_default()
}

/// Returns the name in `names` that `wanted` most likely meant.
pub fn closest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a String>) -> Option<&'a str> {
    let names: Vec<&String> = names.into_iter().collect();
    if let Some(same) = names.iter().find(|n| n.eq_ignore_ascii_case(wanted)) {
        return Some(same);
    }
    let lower = wanted.to_lowercase();
    // At most one edit in four characters, and never more than three.
    let limit = (wanted.chars().count() / 4).clamp(1, 3);
    names
        .iter()
        .map(|name| (strsim::levenshtein(&lower, &name.to_lowercase()), name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_another_case_or_a_near_typo_only() {
        let names: Vec<String> =
            ["Churn", "tenure", "MonthlyCharges"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(closest("churn", &names), Some("Churn"));
        assert_eq!(closest("tenur", &names), Some("tenure"));
        assert_eq!(closest("monthlycharge", &names), Some("MonthlyCharges"));
        assert_eq!(closest("price", &names), None);
        assert_eq!(did_you_mean("CHURN", &names), " (did you mean `Churn`?)");
        assert_eq!(did_you_mean("x", &names), "");
    }
}
