//! The train/test split: stratified by class for classification (each class
//! keeps its share in both parts), shuffled with the seed for regression.

use std::collections::BTreeMap;

use crate::random::Random;

/// Returns (train rows, test rows), each in file order.
pub fn split(
    classes: Option<&[String]>,
    rows: usize,
    test_size: f64,
    random: &mut Random,
) -> (Vec<usize>, Vec<usize>) {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for row in 0..rows {
        let class = classes.map_or("", |c| c[row].as_str());
        groups.entry(class).or_default().push(row);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for members in groups.values_mut() {
        random.shuffle(members);
        let mut take = (members.len() as f64 * test_size).round() as usize;
        if members.len() >= 2 {
            take = take.clamp(1, members.len() - 1);
        }
        test.extend_from_slice(&members[..take]);
        train.extend_from_slice(&members[take..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Fails when the split leaves the train or the test set empty or, for
/// classification (`classes` per row), a class out of either: a model cannot
/// be trained or scored on such a split. `target` names the column.
pub fn check(
    classes: Option<&[String]>,
    (train, test): (&[usize], &[usize]),
    test_size: f64,
    target: &str,
) -> anyhow::Result<()> {
    let rows = train.len() + test.len();
    let empty = match (train.is_empty(), test.is_empty()) {
        (_, true) => Some(("test", "a larger")),
        (true, _) => Some(("train", "a smaller")),
        _ => None,
    };
    if let Some((side, size)) = empty {
        anyhow::bail!(
            "the split leaves the {side} set empty: {rows} row{} with a target, --test-size \
             {test_size}; give it more rows, or {size} --test-size",
            if rows == 1 { "" } else { "s" }
        );
    }
    let Some(classes) = classes else { return Ok(()) };
    let mut counts: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    for (side, members) in [train, test].iter().enumerate() {
        for &row in *members {
            counts.entry(classes[row].as_str()).or_default()[side] += 1;
        }
    }
    let lonely: Vec<String> = counts
        .iter()
        .filter(|(_, [in_train, in_test])| *in_train == 0 || *in_test == 0)
        .map(|(class, [in_train, in_test])| match in_train + in_test {
            1 => format!("`{class}` (1 row)"),
            count => format!("`{class}` ({count} rows)"),
        })
        .collect();
    if lonely.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the split cannot put every class of `{target}` in both the train and the test set: \
         {} {} too few rows; give each class at least 2 rows (more rows of it, or drop the \
         class)",
        lonely.join(", "),
        if lonely.len() == 1 { "has" } else { "have" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Stream;

    #[test]
    fn each_class_keeps_its_share() {
        let classes: Vec<String> =
            (0..1000).map(|i| if i % 10 == 0 { "rare" } else { "common" }.to_owned()).collect();
        let (train, test) = split(Some(&classes), 1000, 0.2, &mut Random::new(1, Stream::Data));
        assert_eq!((train.len(), test.len()), (800, 200));
        assert_eq!(test.iter().filter(|&&r| classes[r] == "rare").count(), 20);
        let (again, _) = split(Some(&classes), 1000, 0.2, &mut Random::new(1, Stream::Data));
        assert_eq!(train, again);
    }

    #[test]
    fn a_class_of_two_puts_one_row_on_each_side() {
        let classes: Vec<String> =
            ["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"].map(String::from).to_vec();
        let (_, test) = split(Some(&classes), 10, 0.2, &mut Random::new(3, Stream::Data));
        assert_eq!(test.iter().filter(|&&r| classes[r] == "a").count(), 1);
    }

    #[test]
    fn a_split_without_a_test_row_or_a_class_on_one_side_fails() {
        let classes: Vec<String> = ["a", "a", "b", "b", "c"].map(String::from).to_vec();
        let (train, test) = split(Some(&classes), 5, 0.2, &mut Random::new(3, Stream::Data));
        let error = check(Some(&classes), (&train, &test), 0.2, "y").unwrap_err().to_string();
        assert!(error.contains("`c` (1 row) has too few rows"), "{error}");
        let (train, test) = split(None, 1, 0.2, &mut Random::new(3, Stream::Data));
        let error = check(None, (&train, &test), 0.2, "y").unwrap_err().to_string();
        assert_eq!(
            error,
            "the split leaves the test set empty: 1 row with a target, --test-size 0.2; give it \
             more rows, or a larger --test-size"
        );
        let (train, test) = split(None, 3, 0.2, &mut Random::new(3, Stream::Data));
        check(None, (&train, &test), 0.2, "y").unwrap();
    }
}
