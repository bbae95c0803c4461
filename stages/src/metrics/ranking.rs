//! Metrics of a ranking: ROC-AUC and average precision (PR-AUC), each row
//! counting its sample weight when there are weights (as scikit-learn's
//! `sample_weight`).

/// ROC-AUC of `scores` for `positive` labels: the (weighted) share of
/// positive–negative pairs ranked right, a tie counting a half, which is the
/// area under scikit-learn's trapezoidal ROC curve; `None` when the truth has
/// a single class (scikit-learn refuses then).
pub fn roc_auc(positive: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Option<f64> {
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let positives: f64 = (0..positive.len()).filter(|&i| positive[i]).map(weight).sum();
    let negatives: f64 = (0..positive.len()).filter(|&i| !positive[i]).map(weight).sum();
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Ascending: each positive outranks the negatives below its tie group,
    // and half of those within it.
    let (mut below, mut pairs, mut start) = (0.0, 0.0, 0);
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len()
            && scores[order[end + 1]].total_cmp(&scores[order[start]]).is_eq()
        {
            end += 1;
        }
        let group = &order[start..=end];
        let group_positives: f64 = group.iter().filter(|&&i| positive[i]).map(|&i| weight(i)).sum();
        let group_negatives: f64 =
            group.iter().filter(|&&i| !positive[i]).map(|&i| weight(i)).sum();
        pairs += group_positives * (below + 0.5 * group_negatives);
        below += group_negatives;
        start = end + 1;
    }
    Some(pairs / (positives * negatives))
}

/// Average precision (scikit-learn's `average_precision_score`): the sum over
/// distinct thresholds of (recall step) × precision; `None` without positives.
pub fn average_precision(
    positive: &[bool],
    scores: &[f64],
    weights: Option<&[f64]>,
) -> Option<f64> {
    let found = cuts(positive, scores, weights);
    let positives = found.last().map_or(0.0, |c| c.true_positive);
    if positives == 0.0 {
        return None;
    }
    let (mut previous_recall, mut area) = (0.0, 0.0);
    for cut in found {
        let seen = cut.true_positive + cut.false_positive;
        if seen == 0.0 {
            continue;
        }
        let recall = cut.true_positive / positives;
        area += (recall - previous_recall) * cut.true_positive / seen;
        previous_recall = recall;
    }
    Some(area)
}

/// One threshold of a ranking: rows scoring at least `threshold` are called
/// positive; `true_positive` and `false_positive` are their (weighted) counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    pub threshold: f64,
    pub true_positive: f64,
    pub false_positive: f64,
}

/// Every distinct threshold of `scores`, highest first, with the positives
/// and negatives at or above it (what scikit-learn's `roc_curve` and
/// `precision_recall_curve` are drawn from).
pub fn cuts(positive: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Vec<Cut> {
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut true_positive, mut false_positive) = (0.0, 0.0);
    let mut found = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]].total_cmp(&threshold).is_eq() {
            if positive[order[i]] {
                true_positive += weight(order[i]);
            } else {
                false_positive += weight(order[i]);
            }
            i += 1;
        }
        found.push(Cut { threshold, true_positive, false_positive });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_count_what_each_threshold_calls_positive() {
        let positive = [true, false, true, false];
        let found = cuts(&positive, &[0.9, 0.8, 0.8, 0.1], None);
        let counts: Vec<_> =
            found.iter().map(|c| (c.threshold, c.true_positive, c.false_positive)).collect();
        assert_eq!(counts, [(0.9, 1.0, 0.0), (0.8, 2.0, 1.0), (0.1, 2.0, 2.0)]);
    }

    #[test]
    fn nan_scores_end_instead_of_stalling() {
        let positive = [true, false, true, false];
        let scores = [f64::NAN, 0.2, 0.9, f64::NAN];
        assert!(average_precision(&positive, &scores, None).is_some());
        assert!(roc_auc(&positive, &scores, None).is_some());
    }

    #[test]
    fn roc_auc_by_hand_with_ties() {
        // scikit-learn's example: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] → 0.75.
        let truth = [false, false, true, true];
        assert_eq!(roc_auc(&truth, &[0.1, 0.4, 0.35, 0.8], None), Some(0.75));
        // A tie between a positive and a negative counts a half.
        assert_eq!(roc_auc(&truth, &[0.1, 0.5, 0.5, 0.8], None), Some(0.875));
        // A constant predictor ranks nothing: 0.5.
        assert_eq!(roc_auc(&truth, &[0.3; 4], None), Some(0.5));
        // One class only: undefined.
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2], None), None);
    }

    #[test]
    fn matches_scikit_learn_on_a_case_with_many_ties() {
        // Expected values printed by scikit-learn 1.9.1 for the same arrays.
        let truth = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1].map(|t| t == 1);
        let scores = [0.9, 0.3, 0.3, 0.7, 0.5, 0.1, 0.5, 0.5, 0.2, 0.8, 0.3, 0.6];
        assert!((roc_auc(&truth, &scores, None).unwrap() - 0.638_888_888_888_889).abs() < 1e-12);
        assert!(
            (average_precision(&truth, &scores, None).unwrap() - 0.672_258_297_258_297_2).abs()
                < 1e-12
        );
    }

    #[test]
    fn average_precision_by_hand() {
        // scikit-learn's example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333…
        let truth = [false, false, true, true];
        let ap = average_precision(&truth, &[0.1, 0.4, 0.35, 0.8], None).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12);
        // A constant predictor: the positive share.
        assert_eq!(average_precision(&truth, &[0.3; 4], None), Some(0.5));
        assert_eq!(average_precision(&[false, false], &[0.1, 0.2], None), None);
    }

    #[test]
    fn weights_count_rows_as_scikit_learn_does() {
        // Doubling a row's weight is as if it were there twice.
        let (truth, scores) = ([false, true, false, true], [0.1, 0.4, 0.35, 0.8]);
        let twice = ([false, true, false, true, true], [0.1, 0.4, 0.35, 0.8, 0.4]);
        let weights = [1.0, 2.0, 1.0, 1.0];
        assert_eq!(roc_auc(&truth, &scores, Some(&weights)), roc_auc(&twice.0, &twice.1, None));
        let weighted = average_precision(&truth, &scores, Some(&weights)).unwrap();
        let repeated = average_precision(&twice.0, &twice.1, None).unwrap();
        assert!((weighted - repeated).abs() < 1e-12);
    }
}
