//! JSON: the nodes and edges, for scripts.

use serde_json::json as value;

use super::{Graph, NodeKind};

/// Returns the graph as pretty-printed JSON: `{"nodes": […], "edges": […]}`.
pub fn json(graph: &Graph) -> String {
    let nodes: Vec<_> = graph
        .nodes
        .iter()
        .map(|node| {
            let kind = match node.kind {
                NodeKind::Stage => "stage",
                NodeKind::Family => "family",
                NodeKind::File => "file",
            };
            value!({"name": node.name, "kind": kind, "count": node.count})
        })
        .collect();
    let edges: Vec<_> = graph
        .edges
        .iter()
        .map(|&(from, to)| value!({"from": graph.nodes[from].name, "to": graph.nodes[to].name}))
        .collect();
    let document = value!({"nodes": nodes, "edges": edges});
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}
