//! Feature binning: each feature's values map to at most [`Bin::MOST`]
//! ordered bins, so that a split search is a histogram scan. A feature with
//! few distinct values gets one bin per value, as an exact tree sees them;
//! one with many gets quantile bins. Boosting bins in a byte (256 bins, as
//! LightGBM and HistGradientBoosting do); forests and trees in two bytes,
//! which keeps every distinct value of all but the largest data sets, as
//! scikit-learn's exact trees see them. Each bin remembers its smallest and largest
//! training value, so that a split's threshold can lie halfway between the
//! values on either side of it, as scikit-learn places it. A feature with
//! missing values (NaN) in training gets one more bin for them, after the
//! others, so that a split can learn which side they go to.

use ndarray::Array2;

/// A bin number as a binned column holds it.
pub trait Bin: Copy + Ord + Send + Sync + Into<usize> + 'static {
    /// The most bins a feature gets, its missing values' included.
    const MOST: usize;

    /// The bin numbered `index`, below [`Bin::MOST`].
    fn at(index: usize) -> Self;
}

impl Bin for u8 {
    const MOST: usize = 1 << 8;

    fn at(index: usize) -> Self {
        debug_assert!(index < Self::MOST);
        index as u8
    }
}

impl Bin for u16 {
    const MOST: usize = 1 << 16;

    fn at(index: usize) -> Self {
        debug_assert!(index < Self::MOST);
        index as u16
    }
}

/// Each feature's bin boundaries, ascending: a value's bin is the number of
/// boundaries below it.
pub struct Edges {
    edges: Vec<Vec<f64>>,
    /// Per feature and bin: the smallest training value in it.
    lows: Vec<Vec<f64>>,
    /// Per feature and bin: the largest training value in it.
    highs: Vec<Vec<f64>>,
    /// Per feature: whether it had missing values, which then have the last bin.
    missing: Vec<bool>,
}

/// The training matrix as bins, one column per feature.
pub struct Binned<B> {
    /// `columns[feature][row]`.
    pub columns: Vec<Vec<B>>,
    /// Two-bin features bundled so that one pass fills their histograms.
    pub bundles: Vec<Bundle>,
    /// The features in no bundle.
    pub unbundled: Vec<usize>,
}

/// Two-bin features whose rarer bins never meet in one row (a category's
/// indicators, above all): LightGBM's exclusive feature bundling, without
/// conflicts. One histogram over `column` gives each member's: its rare
/// bin's sums are the bundle's slot for it, its other bin's the rest.
pub struct Bundle {
    /// The members: a feature and its rare bin (0 or 1).
    pub members: Vec<(usize, u8)>,
    /// Per row: 0, or 1 + the index of the member whose rare bin it is in.
    pub column: Vec<u8>,
}

/// The most members a bundle takes (its column's values must fit in a byte).
const MOST_MEMBERS: usize = 255;

/// Bundles the two-bin features of `columns` greedily, in feature order: each
/// joins the first bundle none of whose rows share its rare bin. Returns the
/// bundles of two members or more, and the features left alone.
fn bundle<B: Bin>(columns: &[Vec<B>], bins: impl Fn(usize) -> usize) -> (Vec<Bundle>, Vec<usize>) {
    let rows = columns.first().map_or(0, Vec::len);
    let mut bundles: Vec<(Bundle, Vec<u64>)> = Vec::new();
    let mut unbundled = Vec::new();
    for (feature, column) in columns.iter().enumerate() {
        if bins(feature) != 2 {
            unbundled.push(feature);
            continue;
        }
        // An indicator's rare bin is its ones (so that a two-category
        // column's complementary indicators bundle); else its zeros, when they
        // fit a bundle and the ones do not.
        let rows_in =
            |bin: u8| (0..rows).filter(|&r| column[r] == B::at(bin.into())).collect::<Vec<usize>>();
        let free = |used: &[u64], rare_rows: &[usize]| {
            rare_rows.iter().all(|&r| used[r / 64] & (1 << (r % 64)) == 0)
        };
        let fits = |rare_rows: &[usize]| {
            bundles
                .iter()
                .position(|(b, used)| b.members.len() < MOST_MEMBERS && free(used, rare_rows))
        };
        let (ones, zeros) = (rows_in(1), rows_in(0));
        let (rare, rare_rows, index) = match (fits(&ones), fits(&zeros)) {
            (Some(index), _) => (1, ones, index),
            (None, Some(index)) => (0, zeros, index),
            (None, None) => {
                let empty = Bundle { members: Vec::new(), column: vec![0; rows] };
                bundles.push((empty, vec![0; rows.div_ceil(64)]));
                let (rare, rare_rows) =
                    if ones.len() <= zeros.len() { (1, ones) } else { (0, zeros) };
                (rare, rare_rows, bundles.len() - 1)
            }
        };
        let (bundle, used) = &mut bundles[index];
        bundle.members.push((feature, rare));
        let slot = bundle.members.len() as u8;
        for &r in &rare_rows {
            used[r / 64] |= 1 << (r % 64);
            bundle.column[r] = slot;
        }
    }
    let (bundles, single): (Vec<_>, Vec<_>) =
        bundles.into_iter().map(|(b, _)| b).partition(|b| b.members.len() > 1);
    unbundled.extend(single.iter().map(|b| b.members[0].0));
    unbundled.sort_unstable();
    (bundles, unbundled)
}

impl Edges {
    /// Learns the bins of the training matrix and returns it binned; with
    /// row weights, a feature with many values is cut at weighted quantiles
    /// (as scikit-learn's HistGradientBoosting does since 1.6), so that rows
    /// that weigh more, a rare class's under class weights, get finer bins.
    pub fn fit<B: Bin>(x: &Array2<f64>, weights: Option<&[f64]>) -> (Self, Binned<B>) {
        let mut edges = Edges { edges: vec![], lows: vec![], highs: vec![], missing: vec![] };
        let mut columns = Vec::with_capacity(x.ncols());
        for column in x.columns() {
            let missing = column.iter().any(|v| v.is_nan());
            // The missing values' bin must fit too.
            let most = if missing { B::MOST - 1 } else { B::MOST };
            let points = match weights {
                Some(weights) => weighted_split_points(column.to_vec(), weights, most),
                None => split_points(column.to_vec(), most),
            };
            let missing_bin = points.len() + 1;
            let mut lows = vec![f64::INFINITY; points.len() + 1];
            let mut highs = vec![f64::NEG_INFINITY; points.len() + 1];
            let bins: Vec<B> = column
                .iter()
                .map(|&value| {
                    if value.is_nan() {
                        return B::at(missing_bin);
                    }
                    let bin = bin_of(&points, value);
                    lows[bin] = lows[bin].min(value);
                    highs[bin] = highs[bin].max(value);
                    B::at(bin)
                })
                .collect();
            columns.push(bins);
            edges.edges.push(points);
            edges.lows.push(lows);
            edges.highs.push(highs);
            edges.missing.push(missing);
        }
        let (bundles, unbundled) = bundle(&columns, |feature| edges.bins(feature));
        (edges, Binned { columns, bundles, unbundled })
    }

    /// Returns how many bins `feature` has, its missing values' included.
    pub fn bins(&self, feature: usize) -> usize {
        self.value_bins(feature) + usize::from(self.missing[feature])
    }

    /// Returns how many bins `feature`'s values (not missing) have.
    pub fn value_bins(&self, feature: usize) -> usize {
        self.edges[feature].len() + 1
    }

    /// Returns the bin of `feature`'s missing values, when it had any.
    pub fn missing_bin(&self, feature: usize) -> Option<usize> {
        self.missing[feature].then(|| self.value_bins(feature))
    }

    /// Returns the threshold between bin `left` and a higher bin `right` of
    /// `feature`: halfway between the largest value of one and the smallest
    /// of the other.
    pub fn threshold(&self, feature: usize, left: usize, right: usize) -> f64 {
        between(self.highs[feature][left], self.lows[feature][right])
    }
}

fn bin_of(edges: &[f64], value: f64) -> usize {
    edges.partition_point(|&e| e < value)
}

/// Returns a point strictly between `low` and `high` (halfway when floats allow).
fn between(low: f64, high: f64) -> f64 {
    let middle = low + (high - low) / 2.0;
    if middle >= high { low } else { middle }
}

/// Returns the boundaries of at most `most` bins of `values` (NaN left out).
fn split_points(mut values: Vec<f64>, most: usize) -> Vec<f64> {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    let rows = values.len();
    cut(&values, most, |k| values[k * rows / most - 1])
}

/// Returns the boundaries of at most `most` bins of `values` (NaN and rows
/// of weight 0 left out), cut at quantiles of the rows' `weights`.
fn weighted_split_points(values: Vec<f64>, weights: &[f64], most: usize) -> Vec<f64> {
    let mut pairs: Vec<(f64, f64)> = values
        .into_iter()
        .zip(weights.iter().copied())
        .filter(|&(value, weight)| !value.is_nan() && weight > 0.0)
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let sorted: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let (mut below, mut index) = (0.0, 0);
    cut(&sorted, most, |k| {
        // The value at which the cumulative weight reaches k / most of the total.
        let wanted = total * k as f64 / most as f64;
        while index + 1 < pairs.len() && below + pairs[index].1 < wanted {
            below += pairs[index].1;
            index += 1;
        }
        pairs[index].0
    })
}

/// Returns the boundaries of at most `most` bins of the sorted `values`:
/// halfway between neighbours when there are few distinct values, else
/// after `quantile(k)`, the value at k / most of them, for k from 1 (each
/// boundary halfway to the next larger value; repeated ones once).
fn cut(values: &[f64], most: usize, mut quantile: impl FnMut(usize) -> f64) -> Vec<f64> {
    let mut distinct = values.to_vec();
    distinct.dedup();
    if distinct.len() <= most {
        return distinct.windows(2).map(|pair| between(pair[0], pair[1])).collect();
    }
    let mut edges: Vec<f64> = Vec::with_capacity(most - 1);
    for k in 1..most {
        let low = quantile(k);
        let next = values.partition_point(|&v| v <= low);
        let Some(&high) = values.get(next) else { break };
        let edge = between(low, high);
        if edges.last().is_none_or(|&last| edge > last) {
            edges.push(edge);
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_BINS: usize = u8::MOST;

    #[test]
    fn few_distinct_values_split_halfway_between_neighbours() {
        assert_eq!(split_points(vec![3.0, 1.0, 2.0, 1.0], MAX_BINS), vec![1.5, 2.5]);
        assert_eq!(split_points(vec![5.0, 5.0], MAX_BINS), Vec::<f64>::new());
        let x = Array2::from_shape_vec((4, 1), vec![3.0, 1.0, 2.0, 1.0]).unwrap();
        let (edges, binned) = Edges::fit::<u8>(&x, None);
        assert_eq!(binned.columns, vec![vec![2, 0, 1, 0]]);
        assert_eq!(edges.threshold(0, 0, 1), 1.5);
        assert_eq!(edges.threshold(0, 0, 2), 2.0);
    }

    #[test]
    fn many_distinct_values_get_quantile_bins_and_thresholds_between_them() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i * 7919 % 10_007)).collect();
        let edges = split_points(values.clone(), MAX_BINS);
        assert!(edges.len() < MAX_BINS && edges.len() > 200, "{}", edges.len());
        assert!(edges.windows(2).all(|w| w[0] < w[1]));
        let x = Array2::from_shape_vec((values.len(), 1), values.clone()).unwrap();
        let (edges, binned) = Edges::fit::<u8>(&x, None);
        for (row, &value) in values.iter().enumerate() {
            let bin = usize::from(binned.columns[0][row]);
            for split in 0..edges.bins(0) - 1 {
                let threshold = edges.threshold(0, split, split + 1);
                assert_eq!(bin <= split, value <= threshold, "{value} {split} {threshold}");
            }
        }
    }

    #[test]
    fn two_byte_bins_keep_every_distinct_value() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i * 7919 % 10_007)).collect();
        let x = Array2::from_shape_vec((values.len(), 1), values.clone()).unwrap();
        let (edges, binned) = Edges::fit::<u16>(&x, None);
        assert_eq!(edges.bins(0), 10_000);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for (row, &value) in values.iter().enumerate() {
            let bin = usize::from(binned.columns[0][row]);
            assert_eq!(sorted[bin], value);
        }
        assert_eq!(edges.threshold(0, 0, 1), (sorted[0] + sorted[1]) / 2.0);
    }

    #[test]
    fn missing_values_get_their_own_last_bin() {
        let values: Vec<f64> = (0..1000).map(f64::from).chain([f64::NAN; 10]).collect();
        let x = Array2::from_shape_vec((values.len(), 1), values).unwrap();
        let (edges, binned) = Edges::fit::<u8>(&x, None);
        assert_eq!(edges.value_bins(0), MAX_BINS - 1);
        assert_eq!(edges.bins(0), MAX_BINS);
        assert_eq!(edges.missing_bin(0), Some(MAX_BINS - 1));
        assert!(binned.columns[0][..1000].iter().all(|&b| (b as usize) < MAX_BINS - 1));
        assert!(binned.columns[0][1000..].iter().all(|&b| b as usize == MAX_BINS - 1));
        let whole = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(Edges::fit::<u8>(&whole, None).0.missing_bin(0), None);
    }

    #[test]
    fn indicators_of_one_category_share_a_bundle() {
        // Columns: a number, then three indicators of one category (row r
        // has category r % 3), then one that overlaps them (r % 2).
        let rows = 60;
        let mut values = Vec::new();
        for r in 0..rows {
            values.push(f64::from(r as u32));
            values.extend((0..3).map(|c| f64::from(u8::from(r % 3 == c))));
            values.push(f64::from(u8::from(r % 2 == 0)));
        }
        let x = Array2::from_shape_vec((rows, 5), values).unwrap();
        let (_, binned) = Edges::fit::<u8>(&x, None);
        assert_eq!(binned.bundles.len(), 1);
        let bundle = &binned.bundles[0];
        assert_eq!(bundle.members, [(1, 1), (2, 1), (3, 1)]);
        for r in 0..rows {
            assert_eq!(bundle.column[r] as usize, 1 + r % 3, "row {r}");
        }
        // The last column's rare bin (the even rows) meets the indicators',
        // and the number has many bins: both stay alone.
        assert_eq!(binned.unbundled, [0, 4]);
    }

    #[test]
    fn weighted_rows_get_finer_bins() {
        // 10,000 values; the top 100 weigh 100 times the others.
        let values: Vec<f64> = (0..10_000).map(f64::from).collect();
        let weights: Vec<f64> = (0..10_000).map(|i| if i >= 9_900 { 100.0 } else { 1.0 }).collect();
        let plain = split_points(values.clone(), MAX_BINS);
        let weighted = weighted_split_points(values.clone(), &weights, MAX_BINS);
        let in_top = |edges: &[f64]| edges.iter().filter(|&&e| e > 9_900.0).count();
        assert!(in_top(&plain) <= 3, "{}", in_top(&plain));
        // The top rows hold half the weight, and get a bin each (half the
        // bins would be more than their 100 values).
        assert_eq!(in_top(&weighted), 99);
        assert!(weighted.windows(2).all(|w| w[0] < w[1]));
        // Equal weights cut where the plain quantiles do, give or take a value.
        let even = weighted_split_points(values.clone(), &vec![2.0; 10_000], MAX_BINS);
        assert_eq!(even.len(), plain.len());
        assert!(even.iter().zip(&plain).all(|(a, b)| (a - b).abs() <= 1.0));
    }
}
