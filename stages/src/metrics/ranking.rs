//! Metrics of a ranking: ROC-AUC and average precision (PR-AUC).

/// ROC-AUC of `scores` for `positive` labels (Mann–Whitney U with average ranks
/// for ties, as scikit-learn's trapezoidal ROC curve gives); `None` when the
/// truth has a single class (scikit-learn refuses then).
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = positive.iter().filter(|p| **p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        let average = (start + end) as f64 / 2.0 + 1.0;
        for &index in &order[start..=end] {
            ranks[index] = average;
        }
        start = end + 1;
    }
    let positive_ranks: f64 = ranks.iter().zip(positive).filter(|(_, p)| **p).map(|(r, _)| r).sum();
    let (p, n) = (positives as f64, negatives as f64);
    Some((positive_ranks - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision (scikit-learn's `average_precision_score`): the sum over
/// distinct thresholds of (recall step) × precision; `None` without positives.
pub fn average_precision(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = positive.iter().filter(|p| **p).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut true_positive, mut seen, mut previous_recall, mut area) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        // total_cmp, so that a NaN score groups with itself instead of stalling.
        while i < order.len() && scores[order[i]].total_cmp(&threshold).is_eq() {
            true_positive += usize::from(positive[order[i]]);
            seen += 1;
            i += 1;
        }
        let recall = true_positive as f64 / positives as f64;
        let precision = true_positive as f64 / seen as f64;
        area += (recall - previous_recall) * precision;
        previous_recall = recall;
    }
    Some(area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_scores_end_instead_of_stalling() {
        let positive = [true, false, true, false];
        let scores = [f64::NAN, 0.2, 0.9, f64::NAN];
        assert!(average_precision(&positive, &scores).is_some());
        assert!(roc_auc(&positive, &scores).is_some());
    }

    #[test]
    fn roc_auc_by_hand_with_ties() {
        // scikit-learn's example: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] → 0.75.
        let truth = [false, false, true, true];
        assert_eq!(roc_auc(&truth, &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        // A tie between a positive and a negative counts a half.
        assert_eq!(roc_auc(&truth, &[0.1, 0.5, 0.5, 0.8]), Some(0.875));
        // A constant predictor ranks nothing: 0.5.
        assert_eq!(roc_auc(&truth, &[0.3; 4]), Some(0.5));
        // One class only: undefined.
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn matches_scikit_learn_on_a_case_with_many_ties() {
        // Expected values printed by scikit-learn 1.9.1 for the same arrays.
        let truth = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1].map(|t| t == 1);
        let scores = [0.9, 0.3, 0.3, 0.7, 0.5, 0.1, 0.5, 0.5, 0.2, 0.8, 0.3, 0.6];
        assert!((roc_auc(&truth, &scores).unwrap() - 0.638_888_888_888_889).abs() < 1e-12);
        assert!(
            (average_precision(&truth, &scores).unwrap() - 0.672_258_297_258_297_2).abs() < 1e-12
        );
    }

    #[test]
    fn average_precision_by_hand() {
        // scikit-learn's example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333…
        let truth = [false, false, true, true];
        let ap = average_precision(&truth, &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12);
        // A constant predictor: the positive share.
        assert_eq!(average_precision(&truth, &[0.3; 4]), Some(0.5));
        assert_eq!(average_precision(&[false, false], &[0.1, 0.2]), None);
    }
}
