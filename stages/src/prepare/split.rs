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
}
