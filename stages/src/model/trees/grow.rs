//! Growing one tree on binned features: depth first, each node split where a
//! histogram scan finds the largest gain. Two criteria share the scan: Gini
//! for class labels (leaves hold class fractions), and gradient / hessian
//! sums for regression and boosting (leaves hold G / (H + λ), which is the
//! mean when the "gradients" are the targets and every hessian is 1).

use serde::{Deserialize, Serialize};

use super::bins::{Binned, Edges};
use crate::random::Random;

/// Marks a leaf in [`Tree::feature`].
const LEAF: u32 = u32::MAX;

/// A hessian sum below this is not split (scikit-learn's `min_hessian_to_split`).
const MIN_HESSIAN: f64 = 1e-3;

/// A fitted tree, as parallel arrays (compact when saved). A value goes left
/// when it is at most the threshold; a missing value (NaN) goes where the
/// split learnt to send the training rows' missing values, or, when they
/// had none, to the child that had more rows (as scikit-learn's
/// HistGradientBoosting sends them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Per node: the feature it splits on, or [`LEAF`].
    feature: Vec<u32>,
    /// Per node: the split's threshold (0 for a leaf).
    threshold: Vec<f64>,
    /// Per node: the left child (the right child follows it), or the leaf's number.
    left: Vec<u32>,
    /// Leaf values, `width` per leaf.
    values: Vec<f64>,
    /// Per node: its split's gain (0 for a leaf), for feature importances.
    #[serde(default)]
    gain: Vec<f64>,
    /// Per node: whether a missing value goes left (trees saved before
    /// 2026-12-03 have none: every missing value went left).
    #[serde(default)]
    missing_left: Vec<bool>,
}

/// Where the rows a tree was grown on ended: `rows` reordered so that each
/// leaf's are `rows[start..end]` for its `(leaf, start, end)` in `leaves`.
pub struct Placed {
    pub rows: Vec<u32>,
    pub leaves: Vec<LeafRows>,
}

/// A leaf and the range of [`Placed::rows`] it holds: `(leaf, start, end)`.
pub type LeafRows = (usize, usize, usize);

/// What a tree learns from.
pub enum Target<'a> {
    /// Class indices below `classes`, each row counting `weights[row]`
    /// (1 when there are none).
    Classes { labels: &'a [u32], classes: usize, weights: Option<&'a [f64]> },
    /// Gradients and hessians, with an L2 penalty on leaf values.
    Gradients { gradients: &'a [f64], hessians: &'a [f64], l2: f64 },
}

/// How a tree grows.
#[derive(Clone, Copy, Debug)]
pub struct Growth {
    /// The deepest a leaf may be (`None`: until leaves are pure or too small).
    pub max_depth: Option<usize>,
    /// The fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// The fewest rows a leaf may have.
    pub min_samples_leaf: usize,
    /// How many features each split tries at least (drawn at random when
    /// fewer than all; more are tried when none of them splits).
    pub max_features: usize,
    /// The most leaves: grows best first when set (LightGBM's `num_leaves`).
    pub max_leaf_nodes: Option<usize>,
    /// How many features the whole tree sees, drawn at random (boosting's
    /// column subsampling); `None`: all of them.
    pub tree_features: Option<usize>,
}

impl Target<'_> {
    /// Values per leaf.
    fn width(&self) -> usize {
        match self {
            Target::Classes { classes, .. } => *classes,
            Target::Gradients { .. } => 1,
        }
    }

    /// Statistics per node: the row count, then class counts (weighted) or (G, H).
    fn stats_width(&self) -> usize {
        match self {
            Target::Classes { classes, .. } => 1 + classes,
            Target::Gradients { .. } => 3,
        }
    }

    fn add(&self, stats: &mut [f64], row: usize) {
        stats[0] += 1.0;
        match self {
            Target::Classes { labels, weights, .. } => {
                stats[1 + labels[row] as usize] += weights.map_or(1.0, |w| w[row]);
            }
            Target::Gradients { gradients, hessians, .. } => {
                stats[1] += gradients[row];
                stats[2] += hessians[row];
            }
        }
    }

    /// Adds every row to the histogram slot of its bin (`stats_width` values
    /// per bin): the split search's inner loop, so the match is outside it.
    fn accumulate(&self, rows: &[u32], column: &[u8], histogram: &mut [f64]) {
        match self {
            Target::Classes { labels, classes, weights: None } => {
                let width = 1 + classes;
                for &row in rows {
                    let slot = column[row as usize] as usize * width;
                    histogram[slot] += 1.0;
                    histogram[slot + 1 + labels[row as usize] as usize] += 1.0;
                }
            }
            Target::Classes { labels, classes, weights: Some(weights) } => {
                let width = 1 + classes;
                for &row in rows {
                    let slot = column[row as usize] as usize * width;
                    histogram[slot] += 1.0;
                    histogram[slot + 1 + labels[row as usize] as usize] += weights[row as usize];
                }
            }
            Target::Gradients { gradients, hessians, .. } => {
                for &row in rows {
                    let slot = column[row as usize] as usize * 3;
                    histogram[slot] += 1.0;
                    histogram[slot + 1] += gradients[row as usize];
                    histogram[slot + 2] += hessians[row as usize];
                }
            }
        }
    }

    /// The node's score; a split's gain is the children's scores minus the parent's.
    fn score(&self, stats: &[f64]) -> f64 {
        match self {
            Target::Classes { .. } => {
                let total: f64 = stats[1..].iter().sum();
                if total > 0.0 {
                    stats[1..].iter().map(|c| c * c).sum::<f64>() / total
                } else {
                    0.0
                }
            }
            Target::Gradients { l2, .. } => stats[1] * stats[1] / (stats[2] + l2),
        }
    }

    /// Returns true when a child with these statistics is allowed.
    fn allowed(&self, stats: &[f64], min_rows: usize) -> bool {
        stats[0] >= min_rows as f64
            && match self {
                Target::Classes { .. } => true,
                Target::Gradients { .. } => stats[2] >= MIN_HESSIAN,
            }
    }

    /// Returns true when no split can improve the node.
    fn pure(&self, stats: &[f64]) -> bool {
        match self {
            Target::Classes { .. } => stats[1..].iter().filter(|&&c| c > 0.0).count() <= 1,
            Target::Gradients { .. } => false,
        }
    }

    fn leaf(&self, stats: &[f64], values: &mut Vec<f64>) {
        match self {
            Target::Classes { .. } => {
                let total: f64 = stats[1..].iter().sum::<f64>().max(f64::MIN_POSITIVE);
                values.extend(stats[1..].iter().map(|c| c / total));
            }
            // A hessian sum of exactly 0 (every probability saturated at 0 or 1)
            // would make the Newton step infinite, and the next round's scores NaN.
            Target::Gradients { l2, .. } => values.push(stats[1] / (stats[2] + l2).max(1e-12)),
        }
    }
}

/// The best split found for a node.
struct Split {
    gain: f64,
    feature: usize,
    /// Rows in this bin or below go left.
    bin: u8,
    /// Whether the rows in the feature's missing-value bin go left.
    missing_left: bool,
}

impl Split {
    /// Returns true when a row in `bin` goes left; `missing_bin` is the
    /// feature's bin of missing values, if it has one.
    fn sends_left(&self, bin: u8, missing_bin: Option<u8>) -> bool {
        if Some(bin) == missing_bin { self.missing_left } else { bin <= self.bin }
    }
}

/// A node waiting to be grown: its slot, its rows and its depth, and, when
/// known, the histograms of its rows over every feature.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    stats: Vec<f64>,
    histograms: Option<Vec<f64>>,
    /// Its best split, once searched for.
    split: Option<Split>,
}

/// What the split search of one tree needs.
struct Search<'a> {
    space: (&'a Binned, &'a Edges, &'a Target<'a>, Growth),
    layout: Option<&'a Layout>,
    /// The features the tree may split on.
    features: Vec<usize>,
    scratch: Scratch,
}

impl Search<'_> {
    /// Returns the best split of `pending`'s node, if it may and can be split.
    fn evaluate(&mut self, pending: &Pending, rows: &[u32], random: &mut Random) -> Option<Split> {
        let (binned, edges, target, growth) = self.space;
        let node_rows = &rows[pending.start..pending.end];
        let splittable = growth.max_depth.is_none_or(|d| pending.depth < d)
            && node_rows.len() >= growth.min_samples_split.max(2 * growth.min_samples_leaf)
            && !target.pure(&pending.stats);
        if !splittable {
            return None;
        }
        // A fresh feature order per node: the features drawn when fewer
        // than all are tried, and which of equally good splits wins (as
        // scikit-learn's `random_state` decides it).
        random.shuffle(&mut self.features);
        let node = NodeView {
            rows: node_rows,
            stats: &pending.stats,
            histograms: self.layout.zip(pending.histograms.as_deref()),
        };
        best_split(binned, edges, target, growth, node, &self.features, &mut self.scratch)
    }
}

/// Where each feature's histogram starts in a node's histograms, every
/// feature's bins one after the other, `width` statistics per bin.
struct Layout {
    offsets: Vec<usize>,
    /// The features' mean bin count.
    mean_bins: usize,
}

impl Layout {
    fn new(edges: &Edges, features: usize, width: usize) -> Self {
        let mut offsets = vec![0];
        for feature in 0..features {
            offsets.push(offsets[feature] + edges.bins(feature) * width);
        }
        let mean_bins = offsets[features] / width / features.max(1);
        Self { offsets, mean_bins }
    }

    /// A node's histograms pay off when it has rows enough for filling and
    /// scanning them (bins per feature, most empty in a small node) to beat
    /// sorting its rows per feature (see `best_split`): measured, about half
    /// a row per bin.
    fn worth(&self, rows: usize) -> bool {
        rows * 2 >= self.mean_bins
    }

    /// The histograms of `rows` over every feature, in a buffer from `spare`
    /// when there is one (a fresh allocation of this size costs page faults).
    fn histograms(
        &self,
        (binned, target): (&Binned, &Target),
        rows: &[u32],
        spare: &mut Vec<Vec<f64>>,
    ) -> Vec<f64> {
        let mut histograms = spare.pop().unwrap_or_default();
        histograms.clear();
        histograms.resize(*self.offsets.last().expect("offsets start at 0"), 0.0);
        if let Target::Gradients { gradients, hessians, .. } = target {
            // The rows' gradients and hessians gathered once, in row order, so
            // that every feature's pass reads them in sequence.
            let gathered: Vec<[f64; 2]> =
                rows.iter().map(|&row| [gradients[row as usize], hessians[row as usize]]).collect();
            let mut copies = Vec::new();
            for &feature in &binned.unbundled {
                let slice = &mut histograms[self.offsets[feature]..self.offsets[feature + 1]];
                sum_gradients((rows, &gathered), &binned.columns[feature], slice, &mut copies);
            }
            let mut sums = Vec::new();
            for bundle in &binned.bundles {
                sums.clear();
                sums.resize(3 * (bundle.members.len() + 1), 0.0);
                sum_gradients((rows, &gathered), &bundle.column, &mut sums, &mut copies);
                let total: [f64; 3] = std::array::from_fn(|k| sums.iter().skip(k).step_by(3).sum());
                for (slot, &(feature, rare)) in sums.chunks_exact(3).skip(1).zip(&bundle.members) {
                    let slice = &mut histograms[self.offsets[feature]..self.offsets[feature + 1]];
                    let (rare, common) = (3 * rare as usize, 3 * (1 - rare as usize));
                    slice[rare..rare + 3].copy_from_slice(slot);
                    for k in 0..3 {
                        slice[common + k] = total[k] - slot[k];
                    }
                }
            }
            return histograms;
        }
        for (feature, column) in binned.columns.iter().enumerate() {
            let slice = &mut histograms[self.offsets[feature]..self.offsets[feature + 1]];
            target.accumulate(rows, column, slice);
        }
        histograms
    }

    /// One feature's histogram within a node's.
    fn feature<'a>(&self, histograms: &'a [f64], feature: usize) -> &'a [f64] {
        &histograms[self.offsets[feature]..self.offsets[feature + 1]]
    }
}

/// Adds each row's count, gradient and hessian (`gathered`, in the order of
/// `rows`) to the slot of its bin in `column`, three values a bin.
fn sum_gradients(
    (rows, gathered): (&[u32], &[[f64; 2]]),
    column: &[u8],
    histogram: &mut [f64],
    copies: &mut Vec<f64>,
) {
    let bins = histogram.len() / 3;
    if bins > 16 {
        for (&row, [g, h]) in rows.iter().zip(gathered) {
            let slot = column[row as usize] as usize * 3;
            histogram[slot] += 1.0;
            histogram[slot + 1] += g;
            histogram[slot + 2] += h;
        }
        return;
    }
    // Few bins (an indicator): consecutive rows mostly add to the same slot,
    // and each add would wait for the last. Four copies of the histogram, row
    // i adding to copy i mod 4, keep four chains going at once; they are
    // summed at the end.
    let width = histogram.len();
    copies.clear();
    copies.resize(4 * width, 0.0);
    for (i, (&row, [g, h])) in rows.iter().zip(gathered).enumerate() {
        let slot = (i & 3) * width + column[row as usize] as usize * 3;
        copies[slot] += 1.0;
        copies[slot + 1] += g;
        copies[slot + 2] += h;
    }
    for copy in copies.chunks_exact(width) {
        histogram.iter_mut().zip(copy).for_each(|(s, c)| *s += c);
    }
}

thread_local! {
    /// Histogram buffers left over from the trees this thread grew.
    static SPARE: std::cell::Cell<Vec<Vec<f64>>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Tree {
    /// Grows a tree on `rows` (indices into `binned`, repeats allowed): depth
    /// first, or best first (the leaf whose split gains most) when
    /// `growth.max_leaf_nodes` bounds the leaves.
    pub fn grow(
        binned: &Binned,
        edges: &Edges,
        target: &Target,
        growth: Growth,
        rows: Vec<u32>,
        random: &mut Random,
    ) -> Self {
        Self::grow_placed(binned, edges, target, growth, rows, random).0
    }

    /// Grows a tree as [`Tree::grow`] does, and returns with it where `rows`
    /// went: the rows, reordered, and each leaf's range of them.
    pub fn grow_placed(
        binned: &Binned,
        edges: &Edges,
        target: &Target,
        growth: Growth,
        mut rows: Vec<u32>,
        random: &mut Random,
    ) -> (Self, Placed) {
        let width = target.stats_width();
        let mut tree = Tree {
            feature: vec![LEAF],
            threshold: vec![0.0],
            left: vec![0],
            values: vec![],
            gain: vec![0.0],
            missing_left: vec![true],
        };
        let mut features: Vec<usize> = (0..binned.columns.len()).collect();
        // When every node tries every feature, a node's histograms are its
        // parent's minus its sibling's: only the smaller child's are summed.
        let layout = (growth.max_features >= features.len())
            .then(|| Layout::new(edges, features.len(), width));
        // Column subsampling: the tree sees a random share of the features.
        if let Some(count) = growth.tree_features.filter(|&c| c < features.len()) {
            random.shuffle(&mut features);
            features.truncate(count.max(1));
        }
        let mut search = Search {
            space: (binned, edges, target, growth),
            layout: layout.as_ref(),
            features,
            scratch: Scratch::default(),
        };
        // Histogram buffers no node holds any more, for reuse, kept per thread
        // from one tree to the next.
        let mut spare: Vec<Vec<f64>> = SPARE.take();
        let histograms = layout
            .as_ref()
            .filter(|layout| layout.worth(rows.len()))
            .map(|layout| layout.histograms((binned, target), &rows, &mut spare));
        // The root's statistics: any feature's bins sum to them.
        let mut root = vec![0.0; width];
        match (&layout, &histograms) {
            (Some(layout), Some(histograms)) if !binned.columns.is_empty() => {
                for sums in layout.feature(histograms, 0).chunks_exact(width) {
                    root.iter_mut().zip(sums).for_each(|(r, s)| *r += s);
                }
            }
            _ => rows.iter().for_each(|&row| target.add(&mut root, row as usize)),
        }
        let root = Pending {
            node: 0,
            start: 0,
            end: rows.len(),
            depth: 0,
            stats: root,
            histograms,
            split: None,
        };
        let best_first = growth.max_leaf_nodes;
        let mut moved = Vec::new();
        let mut placed = Vec::new();
        let mut frontier = vec![root];
        if best_first.is_some() {
            frontier[0].split = search.evaluate(&frontier[0], &rows, random);
        }
        let mut leaves = 1;
        loop {
            let mut pending = match best_first {
                None => match frontier.pop() {
                    Some(mut pending) => {
                        pending.split = search.evaluate(&pending, &rows, random);
                        pending
                    }
                    None => break,
                },
                Some(most) => {
                    let pick = (leaves < most)
                        .then(|| {
                            frontier
                                .iter()
                                .enumerate()
                                .filter_map(|(i, p)| p.split.as_ref().map(|s| (i, s.gain)))
                                .max_by(|a, b| a.1.total_cmp(&b.1))
                                .map(|(i, _)| i)
                        })
                        .flatten();
                    match pick {
                        Some(index) => frontier.swap_remove(index),
                        None => {
                            for pending in frontier.drain(..) {
                                tree.make_leaf(target, pending, (&mut spare, &mut placed));
                            }
                            break;
                        }
                    }
                }
            };
            let Some(split) = pending.split.take() else {
                tree.make_leaf(target, pending, (&mut spare, &mut placed));
                continue;
            };
            let node_rows = &mut rows[pending.start..pending.end];
            let column = &binned.columns[split.feature];
            let missing_bin = edges.missing_bin(split.feature);
            let goes_left = |row: u32| split.sends_left(column[row as usize], missing_bin);
            let middle = partition(node_rows, goes_left, &mut moved);
            let right_bin = node_rows[middle..]
                .iter()
                .map(|&r| column[r as usize])
                .filter(|&bin| Some(bin) != missing_bin)
                .min();
            // The left child's statistics: its bins' sums when the node has
            // histograms, else its rows'.
            let mut left_stats = vec![0.0; width];
            match (&layout, &pending.histograms) {
                (Some(layout), Some(histograms)) => {
                    let histogram = layout.feature(histograms, split.feature);
                    for (bin, sums) in histogram.chunks_exact(width).enumerate() {
                        if split.sends_left(bin as u8, missing_bin) {
                            left_stats.iter_mut().zip(sums).for_each(|(l, s)| *l += s);
                        }
                    }
                }
                _ => {
                    for &row in &node_rows[..middle] {
                        target.add(&mut left_stats, row as usize);
                    }
                }
            }
            let right_stats: Vec<f64> =
                pending.stats.iter().zip(&left_stats).map(|(p, l)| p - l).collect();
            let (left_histograms, right_histograms) = child_histograms(
                (binned, target, growth),
                layout.as_ref(),
                (pending.histograms, &mut spare),
                (&node_rows[..middle], &node_rows[middle..]),
                pending.depth + 1,
            );
            let left = tree.feature.len();
            tree.feature[pending.node] = split.feature as u32;
            // Only missing values on the right: every value goes left.
            tree.threshold[pending.node] = right_bin
                .map_or(f64::MAX, |right| edges.threshold(split.feature, split.bin, right));
            tree.left[pending.node] = left as u32;
            tree.gain[pending.node] = split.gain;
            tree.missing_left[pending.node] = match missing_bin {
                Some(_) => split.missing_left,
                None => 2 * middle >= node_rows.len(),
            };
            tree.feature.extend([LEAF, LEAF]);
            tree.threshold.extend([0.0, 0.0]);
            tree.left.extend([0, 0]);
            tree.gain.extend([0.0, 0.0]);
            tree.missing_left.extend([true, true]);
            leaves += 1;
            let (start, depth) = (pending.start, pending.depth + 1);
            let mut right = Pending {
                node: left + 1,
                start: start + middle,
                end: pending.end,
                depth,
                stats: right_stats,
                histograms: right_histograms,
                split: None,
            };
            let mut left = Pending {
                node: left,
                start,
                end: start + middle,
                depth,
                stats: left_stats,
                histograms: left_histograms,
                split: None,
            };
            if best_first.is_some() {
                left.split = search.evaluate(&left, &rows, random);
                right.split = search.evaluate(&right, &rows, random);
            }
            frontier.push(right);
            frontier.push(left);
        }
        SPARE.set(spare);
        (tree, Placed { rows, leaves: placed })
    }

    /// Makes `pending`'s node a leaf holding its statistics' value, and notes
    /// which rows it holds.
    fn make_leaf(
        &mut self,
        target: &Target,
        pending: Pending,
        (spare, placed): (&mut Vec<Vec<f64>>, &mut Vec<LeafRows>),
    ) {
        spare.extend(pending.histograms);
        self.feature[pending.node] = LEAF;
        let leaf = self.values.len() / target.width();
        self.left[pending.node] = leaf as u32;
        placed.push((leaf, pending.start, pending.end));
        target.leaf(&pending.stats, &mut self.values);
    }

    /// Returns, per feature, the sum of the gains of the splits on it.
    pub fn gains(&self, features: usize) -> Vec<f64> {
        let mut gains = vec![0.0; features];
        for (node, &feature) in self.feature.iter().enumerate() {
            if feature != LEAF && (feature as usize) < features {
                gains[feature as usize] += self.gain.get(node).copied().unwrap_or(0.0);
            }
        }
        gains
    }

    /// Returns the number of the leaf one row falls in.
    pub fn leaf(&self, row: &[f64]) -> usize {
        let mut node = 0;
        while self.feature[node] != LEAF {
            let left = self.left[node] as usize;
            let value = row[self.feature[node] as usize];
            let goes_left = if value.is_nan() {
                self.missing_left.get(node).copied().unwrap_or(true)
            } else {
                value <= self.threshold[node]
            };
            node = if goes_left { left } else { left + 1 };
        }
        self.left[node] as usize
    }

    /// Returns the leaf values for one row, `width` of them.
    pub fn leaf_values(&self, row: &[f64], width: usize) -> &[f64] {
        let leaf = self.leaf(row);
        &self.values[leaf * width..(leaf + 1) * width]
    }

    /// Returns the value of leaf `leaf` of a tree with one value per leaf.
    pub fn value(&self, leaf: usize) -> f64 {
        self.values[leaf]
    }

    /// Replaces the values of a tree with one value per leaf.
    pub fn set_leaf_values(&mut self, values: Vec<f64>) {
        debug_assert_eq!(values.len(), self.values.len());
        self.values = values;
    }

    /// Returns how many leaves the tree has.
    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|&&f| f == LEAF).count()
    }

    /// Multiplies every leaf value by `factor` (a boosting learning rate).
    pub fn scale(&mut self, factor: f64) {
        self.values.iter_mut().for_each(|v| *v *= factor);
    }
}

/// Buffers reused across nodes.
#[derive(Default)]
struct Scratch {
    histogram: Vec<f64>,
    sorted: Vec<(u8, u32)>,
    left: Vec<f64>,
    right: Vec<f64>,
}

/// What the split search sees of a node: its rows, its statistics and its
/// histograms when known.
struct NodeView<'a> {
    rows: &'a [u32],
    stats: &'a [f64],
    histograms: Option<(&'a Layout, &'a [f64])>,
}

/// Returns the histograms of a split's two children at `depth`, for those
/// that may be split in turn and have rows enough: the smaller child's
/// summed from its rows, the larger's as the parent's minus the smaller's.
/// Buffers that are not wanted go back to `spare`.
fn child_histograms(
    (binned, target, growth): (&Binned, &Target, Growth),
    layout: Option<&Layout>,
    (parent, spare): (Option<Vec<f64>>, &mut Vec<Vec<f64>>),
    (left, right): (&[u32], &[u32]),
    depth: usize,
) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
    let (Some(layout), Some(mut parent)) = (layout, parent) else {
        return (None, None);
    };
    let wanted = |rows: &[u32]| {
        growth.max_depth.is_none_or(|d| depth < d)
            && rows.len() >= growth.min_samples_split.max(2 * growth.min_samples_leaf)
            && layout.worth(rows.len())
    };
    let (want_left, want_right) = (wanted(left), wanted(right));
    let left_is_smaller = left.len() <= right.len();
    let (want_smaller, want_larger) =
        if left_is_smaller { (want_left, want_right) } else { (want_right, want_left) };
    let (smaller, larger) = if !want_smaller && !want_larger {
        spare.push(parent);
        (None, None)
    } else {
        let rows = if left_is_smaller { left } else { right };
        let smaller = layout.histograms((binned, target), rows, spare);
        if want_larger {
            parent.iter_mut().zip(&smaller).for_each(|(p, s)| *p -= s);
        }
        let (smaller, larger) = (Some(smaller), Some(parent));
        let keep = |wanted: bool, buffer: Option<Vec<f64>>, spare: &mut Vec<Vec<f64>>| {
            if wanted {
                buffer
            } else {
                spare.extend(buffer);
                None
            }
        };
        (keep(want_smaller, smaller, spare), keep(want_larger, larger, spare))
    };
    if left_is_smaller { (smaller, larger) } else { (larger, smaller) }
}

/// Finds the best split of a node over `features`, trying at least
/// `growth.max_features` of them and more while none splits.
fn best_split(
    binned: &Binned,
    edges: &Edges,
    target: &Target,
    growth: Growth,
    node: NodeView,
    features: &[usize],
    scratch: &mut Scratch,
) -> Option<Split> {
    let NodeView { rows, stats: parent, histograms: known } = node;
    let width = parent.len();
    let parent_score = target.score(parent);
    let tolerance = 1e-9 * (1.0 + parent_score.abs());
    let mut best: Option<Split> = None;
    for (tried, &feature) in features.iter().enumerate() {
        if tried >= growth.max_features && best.is_some() {
            break;
        }
        let bins = edges.bins(feature);
        let missing_bin = edges.missing_bin(feature);
        if bins < 2 {
            continue;
        }
        let column = &binned.columns[feature];
        scratch.right.clear();
        scratch.right.resize(width, 0.0);
        let mut consider = |left: &[f64], (bin, missing_left): (u8, bool), right: &mut Vec<f64>| {
            for ((r, p), l) in right.iter_mut().zip(parent).zip(left) {
                *r = p - l;
            }
            if !target.allowed(left, growth.min_samples_leaf)
                || !target.allowed(right, growth.min_samples_leaf)
            {
                return;
            }
            let gain = target.score(left) + target.score(right) - parent_score;
            if gain > tolerance && best.as_ref().is_none_or(|b| gain > b.gain) {
                best = Some(Split { gain, feature, bin, missing_left });
            }
        };
        // Sorting costs about log2(rows) per row, a histogram one pass over
        // its bins; a feature with missing values is always scanned by
        // histogram, which has their sums in one place.
        if known.is_some() || rows.len() * 8 >= bins || missing_bin.is_some() {
            let histogram = match known {
                Some((layout, histograms)) => layout.feature(histograms, feature),
                None => {
                    scratch.histogram.clear();
                    scratch.histogram.resize(bins * width, 0.0);
                    target.accumulate(rows, column, &mut scratch.histogram);
                    &scratch.histogram
                }
            };
            // Two scans when the feature has missing values: with them on the
            // right (up to splitting them from every value), then starting on
            // the left (up to the last value bin, which would leave none).
            let value_bins = edges.value_bins(feature);
            let missing = missing_bin
                .map(|bin| &histogram[bin as usize * width..(bin as usize + 1) * width])
                .filter(|sums| sums[0] > 0.0);
            let scans = [
                (false, None, if missing.is_some() { value_bins } else { value_bins - 1 }),
                (true, missing, value_bins - 1),
            ];
            let scans = scans
                .into_iter()
                .filter(|(missing_left, start, _)| !missing_left || start.is_some());
            if let Target::Gradients { l2, .. } = target {
                // The same scan as below, unrolled for (count, G, H):
                // boosting spends most of its time here.
                let min_rows = growth.min_samples_leaf as f64;
                for (missing_left, start, last) in scans {
                    let (mut n, mut g, mut h) =
                        start.map_or((0.0, 0.0, 0.0), |s| (s[0], s[1], s[2]));
                    for (bin, slot) in histogram.chunks_exact(3).take(last).enumerate() {
                        if slot[0] == 0.0 {
                            continue;
                        }
                        (n, g, h) = (n + slot[0], g + slot[1], h + slot[2]);
                        let (rn, rg, rh) = (parent[0] - n, parent[1] - g, parent[2] - h);
                        if rn < min_rows {
                            break;
                        }
                        if n < min_rows || h < MIN_HESSIAN || rh < MIN_HESSIAN {
                            continue;
                        }
                        // The children's score g²/hl + rg²/hr is num / den;
                        // both hessian sums are positive, so it beats the
                        // bar when num > bar × den, with no division (whose
                        // latency would otherwise set the scan's pace).
                        let (hl, hr) = (h + l2, rh + l2);
                        let (num, den) = (g * g * hr + rg * rg * hl, hl * hr);
                        let bar = parent_score
                            + best.as_ref().map_or(tolerance, |b| b.gain.max(tolerance));
                        if num > bar * den {
                            let gain = num / den - parent_score;
                            best = Some(Split { gain, feature, bin: bin as u8, missing_left });
                        }
                    }
                }
                continue;
            }
            for (missing_left, start, last) in scans {
                scratch.left.clear();
                match start {
                    Some(sums) => scratch.left.extend_from_slice(sums),
                    None => scratch.left.resize(width, 0.0),
                }
                for bin in 0..last {
                    let counts = &histogram[bin * width..(bin + 1) * width];
                    if counts[0] == 0.0 {
                        continue;
                    }
                    scratch.left.iter_mut().zip(counts).for_each(|(l, c)| *l += c);
                    consider(&scratch.left, (bin as u8, missing_left), &mut scratch.right);
                }
            }
        } else {
            scratch.left.clear();
            scratch.left.resize(width, 0.0);
            scratch.sorted.clear();
            scratch.sorted.extend(rows.iter().map(|&row| (column[row as usize], row)));
            scratch.sorted.sort_unstable();
            for (i, &(bin, row)) in scratch.sorted.iter().enumerate() {
                target.add(&mut scratch.left, row as usize);
                let last_of_bin = scratch.sorted.get(i + 1).is_none_or(|next| next.0 != bin);
                if last_of_bin && i + 1 < scratch.sorted.len() {
                    consider(&scratch.left, (bin, false), &mut scratch.right);
                }
            }
        }
    }
    best
}

/// Moves the rows for which `left` holds to the front, keeping the order of
/// both sides (ascending rows stay ascending, so that every later pass reads
/// the columns in order); returns how many. `moved` is a scratch buffer.
fn partition(rows: &mut [u32], left: impl Fn(u32) -> bool, moved: &mut Vec<u32>) -> usize {
    // Every row is written to both sides and only one side's count moves on:
    // no branch on which side, which would mispredict half the time.
    moved.clear();
    moved.resize(rows.len(), 0);
    let (mut middle, mut right) = (0, 0);
    for i in 0..rows.len() {
        let row = rows[i];
        let goes_left = usize::from(left(row));
        rows[middle] = row;
        moved[right] = row;
        middle += goes_left;
        right += 1 - goes_left;
    }
    rows[middle..].copy_from_slice(&moved[..right]);
    middle
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    #[test]
    fn bundled_histograms_equal_each_features_own() {
        // A number, a category's three indicators, and a two-bin column
        // that overlaps them; gradients and hessians that vary by row.
        let rows = 500;
        let mut values = Vec::new();
        for r in 0..rows {
            values.push(f64::from(r as u32 % 37));
            values.extend((0..3).map(|c| f64::from(u8::from(r % 3 == c))));
            values.push(f64::from(u8::from(r % 2 == 0)));
        }
        let x = Array2::from_shape_vec((rows, 5), values).unwrap();
        let (edges, binned) = Edges::fit(&x, None);
        assert_eq!(binned.bundles.len(), 1);
        let gradients: Vec<f64> = (0..rows).map(|r| (r as f64 * 0.37).sin()).collect();
        let hessians: Vec<f64> = (0..rows).map(|r| 0.1 + (r % 7) as f64 / 10.0).collect();
        let target = Target::Gradients { gradients: &gradients, hessians: &hessians, l2: 0.0 };
        let layout = Layout::new(&edges, 5, 3);
        // Every other row, as a node's rows.
        let node: Vec<u32> = (0..rows as u32).filter(|r| r % 5 != 1).collect();
        let histograms = layout.histograms((&binned, &target), &node, &mut Vec::new());
        for feature in 0..5 {
            let mut own = vec![0.0; edges.bins(feature) * 3];
            target.accumulate(&node, &binned.columns[feature], &mut own);
            let bundled = layout.feature(&histograms, feature);
            for (a, b) in own.iter().zip(bundled) {
                assert!((a - b).abs() < 1e-9, "feature {feature}: {own:?} {bundled:?}");
            }
        }
    }
}
