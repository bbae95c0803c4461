//! The terminal drawing. For now a list in topological order with each stage's
//! inputs; the layered box drawing replaces it.

use std::fmt::Write;

use super::Graph;

/// Draws the graph for a terminal `width` columns wide.
pub fn text(graph: &Graph, _width: usize) -> String {
    let mut out = String::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let parents: Vec<&str> = graph
            .edges
            .iter()
            .filter(|(_, to)| *to == index)
            .map(|(from, _)| graph.nodes[*from].name.as_str())
            .collect();
        let _ = write!(out, "{}", node.label());
        if !parents.is_empty() {
            let _ = write!(out, "  <- {}", parents.join(", "));
        }
        out.push('\n');
    }
    out
}
