//! The lane drawing of a DAG: one node per line, as `git log --graph` and
//! `jj log` draw history, but top-down in run order. A node keeps a lane (a
//! column of `│`) from its line down to the line of its last dependent; each
//! line joins the lanes of the node's inputs to it with one horizontal line,
//! `├`/`┤` where an input's lane goes on, `╰`/`╯`/`┴` where it ends, `┼`
//! where it goes on in the middle, and lanes it passes are left whole (`─│─`).
//!
//! It always fits the terminal: past as many lanes as the width allows, a
//! node gets no lane and the nodes that need it name it (`← name`), and text
//! wraps beside the lanes.

use unicode_width::UnicodeWidthStr;

use super::Graph;

/// Room kept for the node names beside the lanes.
const TEXT_ROOM: usize = 20;

/// Draws `graph` as lanes for a terminal `width` columns wide.
pub fn lanes(graph: &Graph, width: usize) -> String {
    let count = graph.nodes.len();
    let mut parents = vec![Vec::new(); count];
    let mut children = vec![Vec::new(); count];
    for &(from, to) in &graph.edges {
        parents[to].push(from);
        children[from].push(to);
    }
    let budget = (width.saturating_sub(TEXT_ROOM) / 2).max(1);
    let mut state = State {
        columns: Vec::new(),
        pending: children.iter().map(Vec::len).collect(),
        budget,
        width,
        out: String::new(),
    };
    for node in run_order(&parents, &children) {
        let label = graph.nodes[node].label();
        let parked: Vec<String> = parents[node]
            .iter()
            .filter(|&&p| !state.columns.contains(&Some(p)))
            .map(|&p| graph.nodes[p].label())
            .collect();
        state.line(node, &parents[node], !children[node].is_empty(), &label, &parked);
    }
    state.out
}

/// Returns the nodes in an order that runs them after their inputs and keeps
/// lanes short: depth first, each node as soon after its inputs as it can,
/// siblings in pipeline order.
fn run_order(parents: &[Vec<usize>], children: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut stack: Vec<usize> = (0..parents.len()).rev().filter(|&n| waiting[n] == 0).collect();
    let mut order = Vec::with_capacity(parents.len());
    while let Some(node) = stack.pop() {
        order.push(node);
        let mut ready: Vec<usize> = children[node]
            .iter()
            .copied()
            .filter(|&c| {
                waiting[c] -= 1;
                waiting[c] == 0
            })
            .collect();
        ready.sort_unstable_by(|a, b| b.cmp(a));
        stack.extend(ready);
    }
    order
}

/// The lanes while drawing, and the text so far.
struct State {
    /// The node whose lane each column is, if any.
    columns: Vec<Option<usize>>,
    /// How many dependents of each node are still to be drawn.
    pending: Vec<usize>,
    /// The most lanes that fit.
    budget: usize,
    width: usize,
    out: String,
}

impl State {
    /// Draws the line of `node`: its inputs' lanes joined to its column.
    fn line(
        &mut self,
        node: usize,
        inputs: &[usize],
        has_dependents: bool,
        label: &str,
        parked: &[String],
    ) {
        let lane_of =
            |columns: &[Option<usize>], p: usize| columns.iter().position(|c| *c == Some(p));
        let joined: Vec<(usize, bool)> = inputs
            .iter()
            .filter_map(|&p| Some((lane_of(&self.columns, p)?, self.pending[p] > 1)))
            .collect();
        // The node takes over the lane of an input it is the last dependent
        // of, else the first free column; past the budget, a column of its own
        // for this line only.
        let column = joined
            .iter()
            .filter(|(_, goes_on)| !goes_on)
            .map(|&(c, _)| c)
            .min()
            .or_else(|| self.columns.iter().position(Option::is_none))
            .unwrap_or(self.columns.len());
        let keeps_lane = has_dependents && column < self.budget;
        let span: Vec<usize> = joined.iter().map(|&(c, _)| c).chain([column]).collect();
        let (low, high) = (span.iter().copied().min(), span.iter().copied().max());
        let (low, high) = (low.unwrap_or(column), high.unwrap_or(column));
        let drawn = self.columns.len().max(column + 1);
        let mut graph = String::new();
        for c in 0..drawn {
            let glyph = if c == column {
                '○'
            } else if let Some(&(_, goes_on)) = joined.iter().find(|(jc, _)| *jc == c) {
                match (c == low, c == high, goes_on) {
                    (true, _, true) => '├',
                    (true, _, false) => '╰',
                    (_, true, true) => '┤',
                    (_, true, false) => '╯',
                    (_, _, true) => '┼',
                    (_, _, false) => '┴',
                }
            } else if self.columns.get(c).copied().flatten().is_some() {
                '│'
            } else if low < c && c < high {
                '─'
            } else {
                ' '
            };
            graph.push(glyph);
            graph.push(if low <= c && c < high { '─' } else { ' ' });
        }
        // Update the lanes: inputs drawn for the last time end theirs.
        for &p in inputs {
            self.pending[p] = self.pending[p].saturating_sub(1);
            if self.pending[p] == 0
                && let Some(c) = lane_of(&self.columns, p)
            {
                self.columns[c] = None;
            }
        }
        if keeps_lane {
            if column == self.columns.len() {
                self.columns.push(None);
            }
            self.columns[column] = Some(node);
        }
        while self.columns.last() == Some(&None) {
            self.columns.pop();
        }
        let parked = (!parked.is_empty()).then(|| format!("← {}", parked.join(", ")));
        self.write(graph.trim_end(), drawn, label, parked.as_deref());
    }

    /// Writes a line's lanes and label, and under the label the inputs drawn
    /// without a lane, wrapped beside the lanes that go on below.
    fn write(&mut self, graph: &str, drawn: usize, label: &str, parked: Option<&str>) {
        let lanes_width = 2 * drawn.max(self.columns.len());
        let room = self.width.saturating_sub(lanes_width + 1).max(8);
        let mut pieces = wrap(label, room);
        pieces.extend(parked.map(|p| wrap(p, room)).unwrap_or_default());
        let mut pieces = pieces.into_iter();
        let first = pieces.next().unwrap_or_default();
        let pad = lanes_width.saturating_sub(graph.chars().count());
        self.out.push_str(&format!("{graph}{} {first}\n", " ".repeat(pad)));
        let below: String =
            self.columns.iter().map(|c| if c.is_some() { "│ " } else { "  " }).collect::<String>();
        for piece in pieces {
            let pad = lanes_width.saturating_sub(below.chars().count());
            self.out.push_str(&format!("{below}{} {piece}\n", " ".repeat(pad)));
        }
    }
}

/// Cuts `text` into pieces at most `room` columns wide, at spaces when it can.
fn wrap(text: &str, room: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if candidate.width() <= room {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            pieces.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_owned();
        while rest.width() > room {
            let cut: String = rest.chars().take(room).collect();
            rest = rest.chars().skip(room).collect();
            pieces.push(cut);
        }
        line = rest;
    }
    if !line.is_empty() || pieces.is_empty() {
        pieces.push(line);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::render::{Node, NodeKind};

    fn graph(names: &[&str], edges: &[(usize, usize)]) -> Graph {
        Graph {
            nodes: names
                .iter()
                .map(|n| Node { name: (*n).to_owned(), kind: NodeKind::Stage, count: 1 })
                .collect(),
            edges: edges.to_vec(),
        }
    }

    #[test]
    fn a_diamond() {
        let drawing = lanes(&graph(&["a", "b", "c", "d"], &[(0, 1), (0, 2), (1, 3), (2, 3)]), 80);
        assert_eq!(drawing, "○  a\n├─○  b\n○ │  c\n○─╯  d\n");
    }

    #[test]
    fn a_chain_is_one_lane() {
        let drawing = lanes(&graph(&["a", "b", "c"], &[(0, 1), (1, 2)]), 80);
        assert_eq!(drawing, "○  a\n○  b\n○  c\n");
    }

    #[test]
    fn a_lane_passed_over_stays_whole() {
        // a feeds b, c and d; c's line passes b's lane.
        let drawing =
            lanes(&graph(&["a", "b", "c", "d"], &[(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)]), 80);
        assert_eq!(drawing, "○  a\n├─○  b\n├─│─○  c\n○─┴─╯  d\n");
    }

    #[test]
    fn past_the_budget_a_node_is_named_instead_of_drawn() {
        // 30 sources all feeding one sink, at 30 columns: 5 lanes fit.
        let names: Vec<String> = (0..30).map(|i| format!("s{i}")).collect();
        let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
        all.push("sink");
        let edges: Vec<(usize, usize)> = (0..30).map(|i| (i, 30)).collect();
        let drawing = lanes(&graph(&all, &edges), 30);
        assert!(drawing.lines().all(|l| l.chars().count() <= 30), "{drawing}");
        assert!(drawing.contains("← s5, s6"), "{drawing}");
        assert!(drawing.contains("s29"), "{drawing}");
    }

    #[test]
    fn long_text_wraps_beside_the_lanes() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
