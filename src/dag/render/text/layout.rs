//! Where each box goes: ranks (longest path, sources pulled down next to their
//! children), order within a rank (barycenter sweeps), rows (a rank wider than
//! the terminal wraps onto several rows), and columns (boxes pulled under their
//! parents, lines passing through a row given a column of their own).
//!
//! Edges travel on lines: a box with several parents collects all of them on one
//! line (`Line::Into`), every other edge rides on its source's line
//! (`Line::From`), so a fan-in of many stages costs one line, not many.

use std::collections::BTreeSet;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::super::Graph;

/// Columns between two boxes side by side.
const BOX_GAP: usize = 3;
/// Columns between a line passing through a row and its neighbours.
const LINE_GAP: usize = 2;

/// A line that carries edges down the drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Line {
    /// The edges from a node to its children that have no other parent.
    From(usize),
    /// Every edge into a node that has several parents.
    Into(usize),
}

/// The placed graph.
pub struct Layout {
    /// Nodes per row, top to bottom, left to right.
    pub rows: Vec<Vec<usize>>,
    /// The row of each node.
    pub row_of: Vec<usize>,
    /// The first column of each node's box.
    pub x: Vec<usize>,
    /// The width of each node's box.
    pub width: Vec<usize>,
    /// The label drawn in each box.
    pub label: Vec<String>,
    /// Per row: the lines passing through it, with their columns.
    pub passes: Vec<Vec<(Line, usize)>>,
    /// Children of each node.
    pub children: Vec<Vec<usize>>,
    /// Parents of each node.
    pub parents: Vec<Vec<usize>>,
}

impl Layout {
    /// Returns true when `node` collects its edges on a line of its own.
    pub fn fan_in(&self, node: usize) -> bool {
        self.parents[node].len() > 1
    }

    /// Returns the column where a node's outgoing edges leave its box.
    pub fn port(&self, node: usize) -> usize {
        self.x[node] + self.width[node] / 2
    }

    /// Returns the rows a line starts and ends at, if it exists.
    pub fn span(&self, line: Line) -> Option<(usize, usize)> {
        match line {
            Line::From(node) => {
                let last = self.children[node]
                    .iter()
                    .filter(|&&c| !self.fan_in(c))
                    .map(|&c| self.row_of[c])
                    .max()?;
                Some((self.row_of[node], last))
            }
            Line::Into(node) => {
                let first = self.parents[node].iter().map(|&p| self.row_of[p]).min()?;
                self.fan_in(node).then_some((first, self.row_of[node]))
            }
        }
    }

    /// Returns the column of a line as it leaves row `row`: a box's port, a
    /// passing column, or (where an `Into` line starts) the middle of its parents.
    pub fn line_column(&self, line: Line, row: usize) -> usize {
        if let Some(&(_, x)) = self.passes[row].iter().find(|(l, _)| *l == line) {
            return x;
        }
        match line {
            Line::From(node) => self.port(node),
            Line::Into(node) => {
                let ports: Vec<usize> = self.parents[node]
                    .iter()
                    .filter(|&&p| self.row_of[p] == row)
                    .map(|&p| self.port(p))
                    .collect();
                ports.iter().sum::<usize>() / ports.len().max(1)
            }
        }
    }

    /// Returns the columns of everything that leaves row `row` downwards.
    pub fn exits(&self, row: usize) -> BTreeSet<usize> {
        let ports =
            self.rows[row].iter().filter(|&&n| !self.children[n].is_empty()).map(|&n| self.port(n));
        ports.chain(self.passes[row].iter().map(|(_, x)| *x)).collect()
    }
}

/// Lays `graph` out for a terminal `width` columns wide; `None` when so many
/// lines would pass through one row that no drawing could fit.
pub fn layout(graph: &Graph, width: usize) -> Option<Layout> {
    let count = graph.nodes.len();
    let mut children = vec![Vec::new(); count];
    let mut parents = vec![Vec::new(); count];
    for &(from, to) in &graph.edges {
        children[from].push(to);
        parents[to].push(from);
    }
    let label: Vec<String> = graph.nodes.iter().map(|n| fit_label(&n.label(), width)).collect();
    let box_width: Vec<usize> = label.iter().map(|l| l.width() + 4).collect();
    let ranks = super::ranks::ranks(&children, &parents);
    let order = order_ranks(&ranks, &children, &parents);
    let mut layout = Layout {
        rows: Vec::new(),
        row_of: vec![0; count],
        x: vec![0; count],
        width: box_width,
        label,
        passes: Vec::new(),
        children,
        parents,
    };
    wrap(&mut layout, &order, width).then_some(layout)
}

fn fit_label(label: &str, width: usize) -> String {
    let room = width.saturating_sub(6).max(8);
    if label.width() <= room {
        return label.to_owned();
    }
    let mut short = String::new();
    for c in label.chars() {
        if short.width() + c.width().unwrap_or(0) + 1 > room {
            break;
        }
        short.push(c);
    }
    short.push('…');
    short
}

/// Orders each rank by barycenter sweeps, starting from pipeline order.
fn order_ranks(
    ranks: &[usize],
    children: &[Vec<usize>],
    parents: &[Vec<usize>],
) -> Vec<Vec<usize>> {
    let depth = ranks.iter().max().map_or(0, |r| r + 1);
    let mut order = vec![Vec::new(); depth];
    for (node, &r) in ranks.iter().enumerate() {
        order[r].push(node);
    }
    let mut position = vec![0.0; ranks.len()];
    let place_rank = |rank: &[usize], position: &mut Vec<f64>| {
        for (i, &node) in rank.iter().enumerate() {
            position[node] = (i as f64 + 0.5) / rank.len() as f64;
        }
    };
    for rank in &order {
        place_rank(rank, &mut position);
    }
    for sweep in 0..4 {
        let (neighbours, sequence): (&[Vec<usize>], Vec<usize>) = if sweep % 2 == 0 {
            (parents, (1..depth).collect())
        } else {
            (children, (0..depth).rev().collect())
        };
        for r in sequence {
            let mut keyed: Vec<(f64, usize)> = order[r]
                .iter()
                .map(|&node| {
                    let around = &neighbours[node];
                    let key = if around.is_empty() {
                        position[node]
                    } else {
                        around.iter().map(|&n| position[n]).sum::<f64>() / around.len() as f64
                    };
                    (key, node)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            order[r] = keyed.into_iter().map(|(_, n)| n).collect();
            place_rank(&order[r], &mut position);
        }
    }
    order
}

/// Splits each rank into rows that fit `width` together with the lines that pass
/// through them: a rank whose rows overflow is split again with less room.
fn wrap(layout: &mut Layout, order: &[Vec<usize>], width: usize) -> bool {
    let mut budgets = vec![width; order.len()];
    let reach: Vec<(bool, usize)> =
        layout.children.iter().map(|children| (!children.is_empty(), children.len())).collect();
    for _ in 0..8 {
        layout.rows.clear();
        let mut rank_rows = Vec::with_capacity(order.len());
        for (rank, nodes) in order.iter().enumerate() {
            let first = layout.rows.len();
            let mut nodes = nodes.clone();
            if total_width(&nodes, &layout.width) > budgets[rank] {
                // Wrapped rows: nodes whose edges end soon go first, so that
                // fewer lines cross the rows of their own rank.
                nodes.sort_by_key(|&n| reach[n]);
            }
            layout.rows.extend(split(&nodes, &layout.width, budgets[rank]));
            rank_rows.push(first..layout.rows.len());
        }
        for (row, nodes) in layout.rows.iter().enumerate() {
            for &node in nodes {
                layout.row_of[node] = row;
            }
        }
        find_passes(layout);
        if layout.passes.iter().any(|lines| lines.len() > width / 2) {
            return false;
        }
        place(layout, width);
        let mut changed = false;
        for (rank, rows) in rank_rows.into_iter().enumerate() {
            let over = rows.map(|r| right_edge(layout, r).saturating_sub(width)).max().unwrap_or(0);
            let narrowest = order[rank].iter().map(|&n| layout.width[n]).max().unwrap_or(0);
            let budget = budgets[rank].saturating_sub(over.max(2)).max(narrowest);
            if over > 0 && budget < budgets[rank] {
                budgets[rank] = budget;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    true
}

/// Returns the column just right of everything placed in `row`.
fn right_edge(layout: &Layout, row: usize) -> usize {
    let boxes = layout.rows[row].iter().map(|&n| layout.x[n] + layout.width[n]);
    let lines = layout.passes[row].iter().map(|(_, x)| x + 1);
    boxes.chain(lines).max().unwrap_or(0)
}

fn total_width(nodes: &[usize], widths: &[usize]) -> usize {
    nodes.iter().map(|&n| widths[n]).sum::<usize>() + nodes.len().saturating_sub(1) * BOX_GAP
}

/// Splits `nodes` into the fewest rows of at most `budget` columns, balanced.
fn split(nodes: &[usize], widths: &[usize], budget: usize) -> Vec<Vec<usize>> {
    let greedy = |limit: usize| {
        let mut rows: Vec<Vec<usize>> = Vec::new();
        let mut used = 0;
        for &node in nodes {
            let extra = widths[node] + if used == 0 { 0 } else { BOX_GAP };
            match rows.last_mut() {
                Some(row) if used + extra <= budget && row.len() < limit => {
                    row.push(node);
                    used += extra;
                }
                _ => {
                    rows.push(vec![node]);
                    used = widths[node];
                }
            }
        }
        rows
    };
    let rows = greedy(usize::MAX);
    if rows.len() <= 1 {
        return rows;
    }
    let balanced = greedy(nodes.len().div_ceil(rows.len()));
    if balanced.len() == rows.len() { balanced } else { rows }
}

/// Records, per row, which lines pass through it (columns come later).
fn find_passes(layout: &mut Layout) {
    layout.passes = vec![Vec::new(); layout.rows.len()];
    let count = layout.row_of.len();
    let lines = (0..count).flat_map(|n| [Line::From(n), Line::Into(n)]);
    for line in lines {
        if let Some((first, last)) = layout.span(line) {
            for row in first + 1..last {
                layout.passes[row].push((line, 0));
            }
        }
    }
}

fn row_width(layout: &Layout, row: usize) -> usize {
    let boxes: usize = layout.rows[row].iter().map(|&n| layout.width[n]).sum();
    let lines = layout.passes[row].len();
    boxes + layout.rows[row].len().saturating_sub(1) * BOX_GAP + lines * 2 + usize::from(lines > 0)
}

/// One thing in a row: a box or a line passing through.
#[derive(Clone, Copy)]
enum Item {
    Box(usize),
    Pass(Line),
}

/// Chooses every box's and passing line's column, top row first.
fn place(layout: &mut Layout, width: usize) {
    let widest = (0..layout.rows.len()).map(|r| row_width(layout, r)).max().unwrap_or(0);
    let canvas = widest.min(width);
    for row in 0..layout.rows.len() {
        let items = arrange(layout, row);
        let forbidden = if row == 0 { BTreeSet::new() } else { layout.exits(row - 1) };
        let sizes: Vec<usize> = items.iter().map(|item| item_width(layout, *item)).collect();
        let mut cursor: Option<(usize, Item)> = None;
        let mut anchored = false;
        for (i, item) in items.iter().enumerate() {
            let earliest = cursor.map_or(0, |(end, before)| end + separation(before, *item));
            let rest: usize = sizes[i..].iter().sum::<usize>() + (items.len() - i - 1) * LINE_GAP;
            let latest = canvas.saturating_sub(rest).max(earliest);
            let wanted = desired(layout, row, *item);
            anchored |= wanted.is_some();
            let mut x = wanted.map_or(earliest, |w| w.clamp(earliest, latest));
            match item {
                Item::Box(node) => layout.x[*node] = x,
                Item::Pass(line) => {
                    let own = layout.line_column(*line, row - 1);
                    while forbidden.contains(&x) && x != own {
                        x += 1;
                    }
                    if let Some(pass) = layout.passes[row].iter_mut().find(|(l, _)| l == line) {
                        pass.1 = x;
                    }
                }
            }
            cursor = Some((x + sizes[i], *item));
        }
        if !anchored {
            let used = cursor.map_or(0, |(end, _)| end);
            let shift = canvas.saturating_sub(used) / 2;
            for &node in &layout.rows[row] {
                layout.x[node] += shift;
            }
        }
    }
}

fn item_width(layout: &Layout, item: Item) -> usize {
    match item {
        Item::Box(node) => layout.width[node],
        Item::Pass(_) => 1,
    }
}

fn separation(before: Item, after: Item) -> usize {
    match (before, after) {
        (Item::Box(_), Item::Box(_)) => BOX_GAP,
        (Item::Pass(_), Item::Pass(_)) => 1,
        _ => LINE_GAP,
    }
}

/// Returns the column an item would like: a box centred under where its edges
/// come from, a passing line straight under where it comes from.
fn desired(layout: &Layout, row: usize, item: Item) -> Option<usize> {
    match item {
        Item::Pass(line) => Some(layout.line_column(line, row - 1)),
        Item::Box(node) => {
            if layout.parents[node].is_empty() {
                return None;
            }
            let centre = if layout.fan_in(node) {
                layout.line_column(Line::Into(node), row - 1)
            } else {
                layout.line_column(Line::From(layout.parents[node][0]), row - 1)
            };
            Some(centre.saturating_sub(layout.width[node] / 2))
        }
    }
}

/// Returns the row's boxes and passing lines in left-to-right order.
fn arrange(layout: &Layout, row: usize) -> Vec<Item> {
    let mut keyed: Vec<(usize, usize, Item)> = Vec::new();
    let mut last_key = 0;
    for (i, &node) in layout.rows[row].iter().enumerate() {
        let key =
            desired(layout, row, Item::Box(node)).map_or(last_key, |x| x + layout.width[node] / 2);
        last_key = key;
        keyed.push((key, i, Item::Box(node)));
    }
    for &(line, _) in &layout.passes[row] {
        keyed.push((layout.line_column(line, row - 1), usize::MAX, Item::Pass(line)));
    }
    keyed.sort_by_key(|(key, i, _)| (*key, *i));
    keyed.into_iter().map(|(_, _, item)| item).collect()
}
