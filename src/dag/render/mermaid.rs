//! Mermaid flowcharts, which GitHub renders in Markdown.

use std::fmt::Write;

use super::Graph;

/// Returns the graph as a Mermaid `flowchart TD`.
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart TD\n");
    for (index, node) in graph.nodes.iter().enumerate() {
        let label = node.label().replace('"', "#quot;");
        let _ = writeln!(out, "    node{}[\"{label}\"]", index + 1);
    }
    for &(from, to) in &graph.edges {
        let _ = writeln!(out, "    node{} --> node{}", from + 1, to + 1);
    }
    out
}
