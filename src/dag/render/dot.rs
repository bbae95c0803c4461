//! Graphviz DOT.

use std::fmt::Write;

use super::Graph;

/// Returns the graph in Graphviz DOT, ready for `dot -Tsvg`.
pub fn dot(graph: &Graph) -> String {
    let mut out = String::from("digraph pipeline {\n");
    out.push_str("  node [shape=box, style=rounded];\n");
    for node in &graph.nodes {
        let _ = writeln!(out, "  {};", quote(&node.label()));
    }
    for &(from, to) in &graph.edges {
        let (from, to) = (&graph.nodes[from], &graph.nodes[to]);
        let _ = writeln!(out, "  {} -> {};", quote(&from.label()), quote(&to.label()));
    }
    out.push_str("}\n");
    out
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
