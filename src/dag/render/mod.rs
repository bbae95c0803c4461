//! Drawing the DAG: the graph to draw (stages, families or files) and its
//! renderings as terminal lanes or boxes, Graphviz DOT, Mermaid and JSON.

mod dot;
mod json;
mod lanes;
mod mermaid;
mod text;

use std::collections::{BTreeMap, BTreeSet};

use super::{Dag, Producers};
use crate::pipeline::Pipeline;

pub use dot::dot;
pub use json::json;
pub use lanes::lanes;
pub use mermaid::mermaid;
pub use text::boxes;

/// What the nodes of a drawing stand for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// One stage.
    Stage,
    /// A foreach/matrix family drawn as one node.
    Family,
    /// An output file or directory.
    File,
}

/// A node to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The stage, family or path name.
    pub name: String,
    /// What it stands for.
    pub kind: NodeKind,
    /// How many stages it stands for (a family's size; 1 otherwise).
    pub count: usize,
}

impl Node {
    /// Returns the text drawn for the node: `train ×9` for a family.
    pub fn label(&self) -> String {
        match self.kind {
            NodeKind::Family => format!("{} ×{}", self.name, self.count),
            NodeKind::Stage | NodeKind::File => self.name.clone(),
        }
    }
}

/// A graph ready to draw: nodes in a stable order and edges between their indices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// The nodes, in pipeline order.
    pub nodes: Vec<Node>,
    /// The edges `(from, to)`, sorted, without duplicates.
    pub edges: Vec<(usize, usize)>,
}

impl Graph {
    /// Returns the graph of the `selected` stages.
    pub fn stages(pipeline: &Pipeline, dag: &Dag, selected: &BTreeSet<usize>) -> Self {
        let position: BTreeMap<usize, usize> =
            selected.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        let nodes = selected
            .iter()
            .map(|&s| Node {
                name: pipeline.stages[s].name.clone(),
                kind: NodeKind::Stage,
                count: 1,
            })
            .collect();
        let edges = dag
            .edges()
            .into_iter()
            .filter_map(|(a, b)| Some((*position.get(&a)?, *position.get(&b)?)))
            .collect();
        Self { nodes, edges }
    }

    /// Returns the graph with each foreach/matrix family folded into one node.
    pub fn collapse(&self, pipeline: &Pipeline, selected: &BTreeSet<usize>) -> Self {
        let mut nodes: Vec<Node> = Vec::new();
        let mut group_of = Vec::with_capacity(self.nodes.len());
        for &stage in selected {
            let stage = &pipeline.stages[stage];
            let (name, kind) = match &stage.family {
                Some(family) => (family.clone(), NodeKind::Family),
                None => (stage.name.clone(), NodeKind::Stage),
            };
            match nodes.iter().position(|n| n.name == name && n.kind == kind) {
                Some(index) => {
                    nodes[index].count += 1;
                    group_of.push(index);
                }
                None => {
                    group_of.push(nodes.len());
                    nodes.push(Node { name, kind, count: 1 });
                }
            }
        }
        let edges: BTreeSet<(usize, usize)> = self
            .edges
            .iter()
            .map(|&(a, b)| (group_of[a], group_of[b]))
            .filter(|(a, b)| a != b)
            .collect();
        Self { nodes, edges: edges.into_iter().collect() }
    }

    /// Returns the graph of the outputs of the `selected` stages: an edge from an
    /// output to each output of a stage that depends on it.
    pub fn outputs(pipeline: &Pipeline, selected: &BTreeSet<usize>) -> Self {
        let stages = &pipeline.stages;
        let mut nodes = Vec::new();
        let mut index_of = BTreeMap::new();
        for &stage in selected {
            for out in &stages[stage].outs {
                index_of.entry(out.path.as_str()).or_insert_with(|| {
                    nodes.push(Node { name: out.path.to_string(), kind: NodeKind::File, count: 1 });
                    nodes.len() - 1
                });
            }
        }
        let producers = Producers::new(stages);
        let mut edges = BTreeSet::new();
        for &consumer in selected {
            for (path, _) in stages[consumer].repo_deps() {
                for producer in producers.of(path) {
                    if !selected.contains(&producer) {
                        continue;
                    }
                    for from in &stages[producer].outs {
                        if !(from.path.is_within(path) || path.is_within(&from.path)) {
                            continue;
                        }
                        for to in &stages[consumer].outs {
                            edges
                                .insert((index_of[from.path.as_str()], index_of[to.path.as_str()]));
                        }
                    }
                }
            }
        }
        Self { nodes, edges: edges.into_iter().collect() }
    }
}
