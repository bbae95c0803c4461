//! Growing one tree on binned features: depth first, each node split where a
//! histogram scan finds the largest gain. Two criteria share the scan: Gini
//! for class labels (leaves hold class fractions), and gradient / hessian
//! sums for regression and boosting (leaves hold G / (H + λ), which is the
//! mean when the "gradients" are the targets and every hessian is 1).

use serde::{Deserialize, Serialize};

use super::bins::{Bin, Binned, Edges};
use super::helper::Helper;
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
    fn accumulate<B: Bin>(&self, rows: &[u32], column: &[B], histogram: &mut [f64]) {
        match self {
            Target::Classes { labels, classes, weights: None } => {
                let width = 1 + classes;
                for &row in rows {
                    let slot = column[row as usize].into() * width;
                    histogram[slot] += 1.0;
                    histogram[slot + 1 + labels[row as usize] as usize] += 1.0;
                }
            }
            Target::Classes { labels, classes, weights: Some(weights) } => {
                let width = 1 + classes;
                for &row in rows {
                    let slot = column[row as usize].into() * width;
                    histogram[slot] += 1.0;
                    histogram[slot + 1 + labels[row as usize] as usize] += weights[row as usize];
                }
            }
            Target::Gradients { gradients, hessians, .. } => {
                for &row in rows {
                    let slot = column[row as usize].into() * 3;
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
    bin: usize,
    /// Whether the rows in the feature's missing-value bin go left.
    missing_left: bool,
}

impl Split {
    /// Returns true when a row in `bin` goes left; `missing_bin` is the
    /// feature's bin of missing values, if it has one.
    fn sends_left(&self, bin: usize, missing_bin: Option<usize>) -> bool {
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
struct Search<'a, B> {
    space: (&'a Binned<B>, &'a Edges, &'a Target<'a>, Growth),
    layout: Option<&'a Layout>,
    /// The features the tree may split on.
    features: Vec<usize>,
    scratch: Scratch,
    /// The helper's buffers, when it searches one of two nodes.
    other: Scratch,
    /// The fit's helper thread, if it has one.
    helper: Option<&'a Helper>,
}

impl<B: Bin> Search<'_, B> {
    /// Returns the best split of `pending`'s node, if it may and can be split.
    fn evaluate(&mut self, pending: &Pending, rows: &[u32], random: &mut Random) -> Option<Split> {
        if !self.splittable(pending) {
            return None;
        }
        // A fresh feature order per node: the features drawn when fewer
        // than all are tried, and which of equally good splits wins (as
        // scikit-learn's `random_state` decides it).
        random.shuffle(&mut self.features);
        self.search_with(pending, rows)
    }

    /// Returns the best splits of two nodes, as [`Search::evaluate`] one
    /// after the other would (the same feature orders drawn), the smaller on
    /// the helper when there is one.
    fn evaluate_both(
        &mut self,
        (first, second): (&Pending, &Pending),
        rows: &[u32],
        random: &mut Random,
    ) -> (Option<Split>, Option<Split>) {
        if self.helper.is_none() {
            return (self.evaluate(first, rows, random), self.evaluate(second, rows, random));
        }
        let mut order = |search: &mut Self, pending: &Pending| {
            search.splittable(pending).then(|| {
                random.shuffle(&mut search.features);
                search.features.clone()
            })
        };
        let (first_order, second_order) = match (order(self, first), order(self, second)) {
            (Some(first_order), Some(second_order)) => (first_order, second_order),
            // Not both splittable: search the one that is, with the order
            // drawn for it last.
            (Some(_), None) => return (self.search_with(first, rows), None),
            (None, Some(_)) => return (None, self.search_with(second, rows)),
            (None, None) => return (None, None),
        };
        let searches = [
            (self.view(first, rows), &first_order[..]),
            (self.view(second, rows), &second_order[..]),
        ];
        // The helper searches the node with fewer rows: half of its
        // histograms were summed there, where the larger node's were
        // subtracted here (reading another core's cache costs).
        if first.end - first.start <= second.end - second.start {
            let [first_split, second_split] = self.search_side_by_side(searches);
            (first_split, second_split)
        } else {
            let [second_split, first_split] = self.search_side_by_side([searches[1], searches[0]]);
            (first_split, second_split)
        }
    }

    /// Runs two split searches (a node and an order of features each), the
    /// first on the helper when there is one, else one after the other here.
    fn search_side_by_side(
        &mut self,
        [(first, first_order), (second, second_order)]: [(NodeView, &[usize]); 2],
    ) -> [Option<Split>; 2] {
        let (binned, edges, target, growth) = self.space;
        let mut other = std::mem::take(&mut self.other);
        let (mut first_split, mut second_split) = (None, None);
        let scratch = &mut self.scratch;
        Helper::side_by_side(
            self.helper,
            &mut || {
                first_split =
                    best_split(binned, edges, target, growth, first, first_order, &mut other)
            },
            || {
                second_split =
                    best_split(binned, edges, target, growth, second, second_order, scratch)
            },
        );
        self.other = other;
        [first_split, second_split]
    }

    /// Searches `pending` with the features in their current order. A
    /// boosting node, searched over every feature, is searched in two halves
    /// of them (on the helper and here when there is one, else one after the
    /// other): the first half's best split stands unless the second's gains
    /// more, as in one pass.
    fn search_with(&mut self, pending: &Pending, rows: &[u32]) -> Option<Split> {
        let (binned, edges, target, growth) = self.space;
        let node = self.view(pending, rows);
        let every = growth.max_features >= self.features.len();
        if !matches!(target, Target::Gradients { .. }) || !every || self.features.len() < 2 {
            return best_split(
                binned,
                edges,
                target,
                growth,
                node,
                &self.features,
                &mut self.scratch,
            );
        }
        // Taken out for the searches, which borrow the rest of `self`.
        let features = std::mem::take(&mut self.features);
        let (first, second) = features.split_at(features.len() / 2);
        let [first_split, second_split] = self.search_side_by_side([(node, first), (node, second)]);
        self.features = features;
        match (first_split, second_split) {
            (Some(first), Some(second)) => {
                Some(if second.gain > first.gain { second } else { first })
            }
            (first, second) => first.or(second),
        }
    }

    /// Returns true when `pending`'s node may and can be split.
    fn splittable(&self, pending: &Pending) -> bool {
        let (_, _, target, growth) = self.space;
        growth.max_depth.is_none_or(|d| pending.depth < d)
            && pending.end - pending.start
                >= growth.min_samples_split.max(2 * growth.min_samples_leaf)
            && !target.pure(&pending.stats)
    }

    /// What the split search sees of `pending`'s node.
    fn view<'a>(&self, pending: &'a Pending, rows: &'a [u32]) -> NodeView<'a>
    where
        Self: 'a,
    {
        NodeView {
            rows: &rows[pending.start..pending.end],
            stats: &pending.stats,
            histograms: self.layout.zip(pending.histograms.as_deref()),
        }
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
    /// A large node's boosting histograms are filled in two parts, by
    /// feature, on the helper and here when there is one: each feature's
    /// sums the same either way.
    fn histograms<B: Bin>(
        &self,
        (binned, target, helper): (&Binned<B>, &Target, Option<&Helper>),
        rows: &[u32],
        spare: &mut Vec<Vec<f64>>,
    ) -> Vec<f64> {
        let mut histograms = spare.pop().unwrap_or_default();
        let total = *self.offsets.last().expect("offsets start at 0");
        histograms.resize(total, 0.0);
        let Target::Gradients { gradients, hessians, .. } = target else {
            histograms.fill(0.0);
            for (feature, column) in binned.columns.iter().enumerate() {
                let slice = &mut histograms[self.offsets[feature]..self.offsets[feature + 1]];
                target.accumulate(rows, column, slice);
            }
            return histograms;
        };
        // The rows' gradients and hessians gathered once, in row order, so
        // that every feature's pass reads them in sequence (into this
        // thread's buffer: a fresh one of a large node's size would cost
        // page faults every time).
        let mut gathered = GATHERED.take();
        gathered.clear();
        gathered.extend(rows.iter().map(|&row| [gradients[row as usize], hessians[row as usize]]));
        let node = (rows, &gathered[..]);
        // The first features (up to half the passes over the rows, a bundle
        // being one) on one side, the others and the bundles on the other.
        let unbundled = &binned.unbundled;
        let first = match helper {
            Some(_) if rows.len() >= SPLIT_FROM => {
                ((unbundled.len() + binned.bundles.len()) / 2).min(unbundled.len())
            }
            _ => 0,
        };
        let boundary = unbundled.get(first).map_or(total, |&feature| self.offsets[feature]);
        let (first_part, second_part) = histograms.split_at_mut(boundary);
        let mut bundle_sums = Vec::new();
        Helper::side_by_side(
            helper.filter(|_| first > 0),
            &mut || self.sum_features(binned, node, &unbundled[..first], (&mut *first_part, 0)),
            || {
                self.sum_features(binned, node, &unbundled[first..], (second_part, boundary));
                bundle_sums = self.sum_bundles(binned, node);
            },
        );
        self.scatter_bundles(binned, &bundle_sums, &mut histograms);
        GATHERED.set(gathered);
        histograms
    }

    /// Fills `part`, the histograms from offset `start` on, with zeros, and
    /// the histograms of `features` (each within `part`) with the node's sums.
    fn sum_features<B: Bin>(
        &self,
        binned: &Binned<B>,
        node: (&[u32], &[[f64; 2]]),
        features: &[usize],
        (part, start): (&mut [f64], usize),
    ) {
        part.fill(0.0);
        let mut copies = Vec::new();
        for &feature in features {
            let slice = &mut part[self.offsets[feature] - start..self.offsets[feature + 1] - start];
            sum_gradients(node, &binned.columns[feature], slice, &mut copies);
        }
    }

    /// Each bundle's sums, one bundle after another: a slot for the rows
    /// with none of its members' rare values, then one per member.
    fn sum_bundles<B: Bin>(&self, binned: &Binned<B>, node: (&[u32], &[[f64; 2]])) -> Vec<f64> {
        let mut sums = Vec::new();
        let mut copies = Vec::new();
        for bundle in &binned.bundles {
            let at = sums.len();
            sums.resize(at + 3 * (bundle.members.len() + 1), 0.0);
            sum_gradients(node, &bundle.column, &mut sums[at..], &mut copies);
        }
        sums
    }

    /// Writes each bundled feature's two bins from its bundle's sums.
    fn scatter_bundles<B: Bin>(&self, binned: &Binned<B>, sums: &[f64], histograms: &mut [f64]) {
        let mut at = 0;
        for bundle in &binned.bundles {
            let sums = &sums[at..at + 3 * (bundle.members.len() + 1)];
            at += sums.len();
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
    }

    /// One feature's histogram within a node's.
    fn feature<'a>(&self, histograms: &'a [f64], feature: usize) -> &'a [f64] {
        &histograms[self.offsets[feature]..self.offsets[feature + 1]]
    }
}

/// Adds each row's count, gradient and hessian (`gathered`, in the order of
/// `rows`) to the slot of its bin in `column`, three values a bin.
fn sum_gradients<B: Bin>(
    (rows, gathered): (&[u32], &[[f64; 2]]),
    column: &[B],
    histogram: &mut [f64],
    copies: &mut Vec<f64>,
) {
    let bins = histogram.len() / 3;
    if bins > 16 {
        for (&row, [g, h]) in rows.iter().zip(gathered) {
            let slot = column[row as usize].into() * 3;
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
        let slot = (i & 3) * width + column[row as usize].into() * 3;
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
    /// A node's gradients and hessians, in the order of its rows.
    static GATHERED: std::cell::Cell<Vec<[f64; 2]>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A node of at least this many rows fills its boosting histograms in two
/// parts, by feature, when the fit has a [`Helper`] (measured: breast cancer's
/// and the imbalanced set's fits 3 % faster than from 1,024 rows on; the
/// helper, spinning between jobs, takes one up within a microsecond).
const SPLIT_FROM: usize = 96;

impl Tree {
    /// Grows a tree on `rows` (indices into `binned`, repeats allowed): depth
    /// first, or best first (the leaf whose split gains most) when
    /// `growth.max_leaf_nodes` bounds the leaves.
    pub fn grow<B: Bin>(
        binned: &Binned<B>,
        edges: &Edges,
        target: &Target,
        growth: Growth,
        rows: Vec<u32>,
        random: &mut Random,
    ) -> Self {
        Self::grow_placed((binned, edges, target, None), growth, rows, random).0
    }

    /// Grows a tree as [`Tree::grow`] does, and returns with it where `rows`
    /// went: the rows, reordered, and each leaf's range of them.
    pub fn grow_placed<B: Bin>(
        (binned, edges, target, helper): (&Binned<B>, &Edges, &Target, Option<&Helper>),
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
            other: Scratch::default(),
            helper,
        };
        // Histogram buffers no node holds any more, for reuse, kept per thread
        // from one tree to the next.
        let mut spare: Vec<Vec<f64>> = SPARE.take();
        let histograms = layout
            .as_ref()
            .filter(|layout| layout.worth(rows.len()))
            .map(|layout| layout.histograms((binned, target, helper), &rows, &mut spare));
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
        let mut moved = [Vec::new(), Vec::new()];
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
            let goes_left = |row: u32| split.sends_left(column[row as usize].into(), missing_bin);
            let middle = partition_side_by_side(node_rows, goes_left, &mut moved, helper);
            let right_bin = node_rows[middle..]
                .iter()
                .map(|&r| column[r as usize].into())
                .filter(|&bin| Some(bin) != missing_bin)
                .min();
            // The left child's statistics: its bins' sums when the node has
            // histograms, else its rows'.
            let mut left_stats = vec![0.0; width];
            match (&layout, &pending.histograms) {
                (Some(layout), Some(histograms)) => {
                    let histogram = layout.feature(histograms, split.feature);
                    for (bin, sums) in histogram.chunks_exact(width).enumerate() {
                        if split.sends_left(bin, missing_bin) {
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
                (binned, target, growth, helper),
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
                (left.split, right.split) = search.evaluate_both((&left, &right), &rows, random);
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

/// A node at least this many times smaller than a feature's bins sorts its
/// rows by bin instead of filling and scanning a histogram.
const DENSE: usize = 8;

/// Buffers reused across nodes.
#[derive(Default)]
struct Scratch {
    histogram: Vec<f64>,
    /// A node's (bin, row) pairs, and room for sorting them.
    sorted: Vec<(u32, u32)>,
    unsorted: Vec<(u32, u32)>,
    /// The sums of the bins a node's rows are in, and those bins, ascending.
    compact: Vec<f64>,
    groups: Vec<u32>,
    /// The bins of `histogram` that rows went to, a bit each.
    marks: Vec<u64>,
    left: Vec<f64>,
    right: Vec<f64>,
}

/// What the split search sees of a node: its rows, its statistics and its
/// histograms when known.
#[derive(Clone, Copy)]
struct NodeView<'a> {
    rows: &'a [u32],
    stats: &'a [f64],
    histograms: Option<(&'a Layout, &'a [f64])>,
}

/// Returns the histograms of a split's two children at `depth`, for those
/// that may be split in turn and have rows enough: the smaller child's
/// summed from its rows, the larger's as the parent's minus the smaller's.
/// Buffers that are not wanted go back to `spare`.
fn child_histograms<B: Bin>(
    (binned, target, growth, helper): (&Binned<B>, &Target, Growth, Option<&Helper>),
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
        let smaller = layout.histograms((binned, target, helper), rows, spare);
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
fn best_split<B: Bin>(
    binned: &Binned<B>,
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
    let skip_runs = matches!(target, Target::Classes { .. }) && growth.min_samples_leaf <= 1;
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
        let mut consider =
            |left: &[f64], (bin, missing_left): (usize, bool), right: &mut Vec<f64>| {
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
        // The feature's statistics per bin: a histogram over every bin, or
        // the sums of only the bins the node's rows are in (`groups` names
        // them), from a histogram whose occupied bins were marked when the
        // feature has many, or, for a node far smaller than the feature's
        // bins, from its rows sorted by bin (a few passes over the rows, see
        // `sort_by_bin`, where a histogram costs one over every bin). A
        // feature with missing values is always scanned by histogram, which
        // has their sums in one place.
        let dense = known.is_some() || rows.len() * DENSE >= bins || missing_bin.is_some();
        let (histogram, groups, missing): (&[f64], Option<&[u32]>, _) = if dense {
            let full = match known {
                Some((layout, histograms)) => layout.feature(histograms, feature),
                None => {
                    scratch.histogram.clear();
                    scratch.histogram.resize(bins * width, 0.0);
                    target.accumulate(rows, column, &mut scratch.histogram);
                    &scratch.histogram
                }
            };
            let missing = missing_bin
                .map(|bin| &full[bin * width..(bin + 1) * width])
                .filter(|sums| sums[0] > 0.0);
            if known.is_none() && (bins > MARK_ABOVE || rows.len() * 2 < bins) {
                scratch.marks.clear();
                scratch.marks.resize(bins.div_ceil(64), 0);
                for &row in rows {
                    let bin: usize = column[row as usize].into();
                    scratch.marks[bin / 64] |= 1 << (bin % 64);
                }
                scratch.compact.clear();
                scratch.groups.clear();
                for (index, &word) in scratch.marks.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        let bin = 64 * index + word.trailing_zeros() as usize;
                        word &= word - 1;
                        if Some(bin) != missing_bin {
                            scratch.groups.push(bin as u32);
                            scratch
                                .compact
                                .extend_from_slice(&full[bin * width..(bin + 1) * width]);
                        }
                    }
                }
                (&scratch.compact[..], Some(&scratch.groups[..]), missing)
            } else {
                (full, None, missing)
            }
        } else {
            scratch.sorted.clear();
            scratch
                .sorted
                .extend(rows.iter().map(|&row| (column[row as usize].into() as u32, row)));
            sort_by_bin(&mut scratch.sorted, &mut scratch.unsorted, bins);
            scratch.compact.clear();
            scratch.groups.clear();
            for group in scratch.sorted.chunk_by(|a, b| a.0 == b.0) {
                scratch.groups.push(group[0].0);
                let at = scratch.compact.len();
                scratch.compact.resize(at + width, 0.0);
                let sums = &mut scratch.compact[at..];
                group.iter().for_each(|&(_, row)| target.add(sums, row as usize));
            }
            (&scratch.compact[..], Some(&scratch.groups[..]), None)
        };
        // The bin of the histogram's `index`-th slot.
        let bin_at = |index: usize| groups.map_or(index, |groups| groups[index] as usize);
        // Two scans when the feature has missing values: with them on the
        // right (up to splitting them from every value), then starting on
        // the left (up to the last value bin, which would leave none).
        let value_bins = groups.map_or(edges.value_bins(feature), <[u32]>::len);
        if value_bins == 0 {
            // Every row of the node misses this feature: nothing to split.
            continue;
        }
        let scans = [
            (false, None, if missing.is_some() { value_bins } else { value_bins - 1 }),
            (true, missing, value_bins - 1),
        ];
        let scans =
            scans.into_iter().filter(|(missing_left, start, _)| !missing_left || start.is_some());
        if let Target::Gradients { l2, .. } = target {
            // The same scan as below, unrolled for (count, G, H):
            // boosting spends most of its time here.
            let min_rows = growth.min_samples_leaf as f64;
            for (missing_left, start, last) in scans {
                let (mut n, mut g, mut h) = start.map_or((0.0, 0.0, 0.0), |s| (s[0], s[1], s[2]));
                for (index, slot) in histogram.chunks_exact(3).take(last).enumerate() {
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
                    let bar =
                        parent_score + best.as_ref().map_or(tolerance, |b| b.gain.max(tolerance));
                    if num > bar * den {
                        let gain = num / den - parent_score;
                        best = Some(Split { gain, feature, bin: bin_at(index), missing_left });
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
            let mut cuts = Cuts::new(skip_runs);
            for (index, counts) in histogram.chunks_exact(width).take(last).enumerate() {
                if counts[0] == 0.0 {
                    continue;
                }
                if let Some(before) = cuts.before(bin_at(index), counts) {
                    consider(&scratch.left, (before, missing_left), &mut scratch.right);
                }
                scratch.left.iter_mut().zip(counts).for_each(|(l, c)| *l += c);
            }
            if let Some(before) = cuts.last() {
                consider(&scratch.left, (before, missing_left), &mut scratch.right);
            }
        }
    }
    best
}

/// A histogram of more bins than this (or than twice its node's rows) has
/// its occupied bins marked and gathered, so that its scans skip the empty
/// ones.
const MARK_ABOVE: usize = 256;

/// Below this many rows, sorting by comparison beats sorting by digits.
const RADIX_FROM: usize = 64;

/// Sorts (bin, row) pairs by bin, for bins below `bins` (at most 2^16):
/// by comparison when there are few, else by 8-bit digits, one pass each,
/// into `spare` and back (a few sequential passes, where a histogram of many
/// bins would be written all over).
fn sort_by_bin(pairs: &mut Vec<(u32, u32)>, spare: &mut Vec<(u32, u32)>, bins: usize) {
    if pairs.len() < RADIX_FROM {
        pairs.sort_unstable();
        return;
    }
    let digits = if bins <= 1 << 8 { 1 } else { 2 };
    for digit in 0..digits {
        let shift = 8 * digit;
        let mut starts = [0usize; 256];
        for &(bin, _) in pairs.iter() {
            starts[(bin >> shift) as usize & 255] += 1;
        }
        let mut total = 0;
        for start in &mut starts {
            (*start, total) = (total, total + *start);
        }
        spare.clear();
        spare.resize(pairs.len(), (0, 0));
        for &pair in pairs.iter() {
            let digit = (pair.0 >> shift) as usize & 255;
            spare[starts[digit]] = pair;
            starts[digit] += 1;
        }
        std::mem::swap(pairs, spare);
    }
}

/// Walks a node's non-empty bins in order and says which cuts between them
/// may be a class split's best. When every bin of a run holds rows of one
/// class only, a cut inside the run never gains more than a cut at one of
/// its ends: moving the run's rows across one by one changes one class
/// count, in which the children's Gini score is convex. So those cuts are
/// skipped (`skip_runs`), unless leaves have a least size, which may rule
/// out the run's ends.
struct Cuts {
    skip_runs: bool,
    /// The last bin seen, and its only class when it has one.
    previous: Option<(usize, Option<usize>)>,
}

impl Cuts {
    fn new(skip_runs: bool) -> Self {
        Self { skip_runs, previous: None }
    }

    /// Takes the next non-empty bin and its statistics (the row count, then
    /// the class sums); returns the bin to cut after, before this one, if
    /// that cut is worth trying.
    fn before(&mut self, bin: usize, stats: &[f64]) -> Option<usize> {
        let class = if self.skip_runs { only_class(&stats[1..]) } else { None };
        let cut = match self.previous {
            Some((_, Some(last))) if class == Some(last) => None,
            previous => previous.map(|(bin, _)| bin),
        };
        self.previous = Some((bin, class));
        cut
    }

    /// The cut after the last bin seen.
    fn last(&self) -> Option<usize> {
        self.previous.map(|(bin, _)| bin)
    }
}

/// Returns the class of the only non-zero class sum, if one is.
fn only_class(sums: &[f64]) -> Option<usize> {
    let mut found = None;
    for (class, &sum) in sums.iter().enumerate() {
        if sum != 0.0 {
            if found.is_some() {
                return None;
            }
            found = Some(class);
        }
    }
    found
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

/// A node of at least this many rows is partitioned in two halves, side by
/// side when the fit has a [`Helper`].
const PARTITION_SPLIT_FROM: usize = 4096;

/// Partitions `rows` as [`partition`] does (the same order), a large node's
/// in two halves on the helper and here, then joined.
fn partition_side_by_side(
    rows: &mut [u32],
    left: impl Fn(u32) -> bool + Sync,
    [moved, other_moved]: &mut [Vec<u32>; 2],
    helper: Option<&Helper>,
) -> usize {
    if helper.is_none() || rows.len() < PARTITION_SPLIT_FROM {
        return partition(rows, left, moved);
    }
    let half = rows.len() / 2;
    let (first, second) = rows.split_at_mut(half);
    let (mut first_middle, mut second_middle) = (0, 0);
    Helper::side_by_side(
        helper,
        &mut || first_middle = partition(first, &left, other_moved),
        || {
            second_middle = partition(second, &left, moved);
        },
    );
    // [left 1, right 1, left 2, right 2] -> [left 1, left 2, right 1, right 2]
    rows[first_middle..half + second_middle].rotate_left(half - first_middle);
    first_middle + second_middle
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    /// The best Gini gain of one split of `rows` over every threshold of
    /// every column, found by trying each.
    fn brute_force_gain(x: &Array2<f64>, labels: &[u32], rows: &[u32]) -> f64 {
        let score = |counts: [f64; 2]| {
            let total = counts[0] + counts[1];
            if total > 0.0 { (counts[0] * counts[0] + counts[1] * counts[1]) / total } else { 0.0 }
        };
        let mut parent = [0.0; 2];
        rows.iter().for_each(|&r| parent[labels[r as usize] as usize] += 1.0);
        let mut best: f64 = 0.0;
        for column in x.columns() {
            let mut values: Vec<f64> = rows.iter().map(|&r| column[r as usize]).collect();
            values.sort_by(f64::total_cmp);
            values.dedup();
            for threshold in values.windows(2).map(|w| (w[0] + w[1]) / 2.0) {
                let mut left = [0.0; 2];
                for &r in rows.iter().filter(|&&r| column[r as usize] <= threshold) {
                    left[labels[r as usize] as usize] += 1.0;
                }
                let right = [parent[0] - left[0], parent[1] - left[1]];
                best = best.max(score(left) + score(right) - score(parent));
            }
        }
        best
    }

    #[test]
    fn the_split_search_finds_the_best_gini_split_on_exact_bins() {
        // Rare positives, so that most cuts lie inside runs of one class,
        // which the search skips; a node of every size: a histogram over
        // all bins, the occupied bins gathered, or the rows sorted by bin.
        let mut random = Random::task(4, 0);
        for (rows, node) in [(3000, 3000), (3000, 700), (3000, 40), (300, 300)] {
            let mut values = Vec::new();
            let mut labels = Vec::new();
            for _ in 0..rows {
                let (a, b) = (random.uniform(0.0, 1.0), random.int(0, 40) as f64);
                values.extend([a, b]);
                labels.push(u32::from(a * 0.2 + b / 400.0 + random.normal(0.0, 0.05) > 0.25));
            }
            let x = Array2::from_shape_vec((rows, 2), values).unwrap();
            let (edges, binned) = Edges::fit::<u16>(&x, None);
            let target = Target::Classes { labels: &labels, classes: 2, weights: None };
            let growth = Growth {
                max_depth: Some(1),
                min_samples_split: 2,
                min_samples_leaf: 1,
                max_features: 1,
                max_leaf_nodes: None,
                tree_features: None,
            };
            let sample: Vec<u32> = (0..rows as u32).step_by(rows / node).collect();
            let tree = Tree::grow(&binned, &edges, &target, growth, sample.clone(), &mut random);
            let expected = brute_force_gain(&x, &labels, &sample);
            assert!(expected > 0.0);
            // One feature is drawn per node: the search's gain is the best
            // of that feature's, at most the best of both.
            let found = tree.gain[0];
            assert!(found <= expected + 1e-9, "{rows} rows, {node}: {found} > {expected}");
            let feature = tree.feature[0] as usize;
            let only = x.select(ndarray::Axis(1), &[feature]);
            let of_feature = brute_force_gain(&only, &labels, &sample);
            assert!((found - of_feature).abs() < 1e-9, "{rows} rows, {node}: {found} {of_feature}");
        }
    }

    #[test]
    fn a_node_whose_rows_all_miss_a_many_valued_feature_is_searched() {
        // x0: 1,000 distinct values on even rows, missing on odd ones; x1
        // tells them apart. The odd rows' node has only x0's missing bin.
        let rows = 2000;
        let mut values = Vec::new();
        for r in 0..rows {
            values.push(if r % 2 == 0 { r as f64 } else { f64::NAN });
            values.push((r % 2) as f64);
        }
        let x = Array2::from_shape_vec((rows, 2), values).unwrap();
        let labels: Vec<u32> = (0..rows).map(|r| u32::from(r % 4 < 2)).collect();
        let (edges, binned) = Edges::fit::<u16>(&x, None);
        let target = Target::Classes { labels: &labels, classes: 2, weights: None };
        let growth = Growth {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: 1,
            max_leaf_nodes: None,
            tree_features: None,
        };
        let mut random = Random::task(6, 0);
        let all: Vec<u32> = (0..rows as u32).collect();
        let tree = Tree::grow(&binned, &edges, &target, growth, all, &mut random);
        // Even rows are told apart by x0; odd rows by nothing.
        assert_eq!(tree.leaf_values(&[4.0, 0.0], 2), [0.0, 1.0]);
        assert_eq!(tree.leaf_values(&[6.0, 0.0], 2), [1.0, 0.0]);
        assert_eq!(tree.leaf_values(&[f64::NAN, 1.0], 2), [0.5, 0.5]);
    }

    #[test]
    fn sorting_by_bin_orders_pairs_by_bin_keeping_every_pair() {
        let mut random = Random::task(5, 0);
        for (count, bins) in [(10, 40_000), (300, 200), (5000, 40_000)] {
            let pairs: Vec<(u32, u32)> =
                (0..count).map(|row| (random.int(0, bins - 1) as u32, row as u32)).collect();
            let mut sorted = pairs.clone();
            sort_by_bin(&mut sorted, &mut Vec::new(), bins as usize);
            assert!(sorted.windows(2).all(|w| w[0].0 <= w[1].0));
            let mut expected = pairs;
            expected.sort_unstable();
            sorted.sort_unstable();
            assert_eq!(sorted, expected);
        }
    }

    #[test]
    fn partitioning_in_halves_keeps_both_sides_in_order() {
        let mut random = Random::task(9, 0);
        for count in [10, 4096, 9001] {
            let rows: Vec<u32> = (0..count).map(|row| 3 * row).collect();
            let goes: Vec<bool> = (0..count).map(|_| random.int(0, 2) == 0).collect();
            let left = |row: u32| goes[row as usize / 3];
            let expected: Vec<u32> = rows
                .iter()
                .filter(|&&row| left(row))
                .chain(rows.iter().filter(|&&row| !left(row)))
                .copied()
                .collect();
            let lefts = expected.iter().filter(|&&row| left(row)).count();
            Helper::around(true, |helper| {
                for helper in [None, helper] {
                    let mut partitioned = rows.clone();
                    let mut moved = [Vec::new(), Vec::new()];
                    let middle = partition_side_by_side(&mut partitioned, left, &mut moved, helper);
                    assert_eq!((middle, &partitioned), (lefts, &expected));
                }
            });
        }
    }

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
        let (edges, binned) = Edges::fit::<u8>(&x, None);
        assert_eq!(binned.bundles.len(), 1);
        let gradients: Vec<f64> = (0..rows).map(|r| (r as f64 * 0.37).sin()).collect();
        let hessians: Vec<f64> = (0..rows).map(|r| 0.1 + (r % 7) as f64 / 10.0).collect();
        let target = Target::Gradients { gradients: &gradients, hessians: &hessians, l2: 0.0 };
        let layout = Layout::new(&edges, 5, 3);
        // Every other row, as a node's rows.
        let node: Vec<u32> = (0..rows as u32).filter(|r| r % 5 != 1).collect();
        let histograms = layout.histograms((&binned, &target, None), &node, &mut Vec::new());
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
