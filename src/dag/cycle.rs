//! Finding cycles in the stage graph and the path that closes each one.

use std::collections::{BTreeSet, HashMap, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Returns one cycle per strongly connected component that has one, each as the
/// stage indices `a, b, …, a` starting from the component's first stage.
pub fn find(graph: &DiGraph<usize, ()>) -> Vec<Vec<usize>> {
    let mut cycles: Vec<Vec<usize>> = tarjan_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1 || graph.contains_edge(component[0], component[0]))
        .map(|component| shortest_cycle(graph, &component))
        .collect();
    cycles.sort();
    cycles
}

fn shortest_cycle(graph: &DiGraph<usize, ()>, component: &[NodeIndex]) -> Vec<usize> {
    let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
    let start = *members.first().expect("a component is never empty");
    let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(node) = queue.pop_front() {
        let mut next: Vec<_> = graph.neighbors(node).filter(|n| members.contains(n)).collect();
        next.sort();
        for neighbour in next {
            if neighbour == start {
                closing = Some(node);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(neighbour) {
                slot.insert(node);
                queue.push_back(neighbour);
            }
        }
    }
    let mut path = vec![start.index()];
    let mut node = closing.unwrap_or(start);
    let mut reversed = Vec::new();
    while node != start {
        reversed.push(node.index());
        node = previous[&node];
    }
    path.extend(reversed.into_iter().rev());
    path.push(start.index());
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(u32, u32)], count: usize) -> DiGraph<usize, ()> {
        let mut graph = DiGraph::new();
        for i in 0..count {
            graph.add_node(i);
        }
        graph.extend_with_edges(edges);
        graph
    }

    #[test]
    fn finds_the_path_of_a_cycle() {
        let g = graph(&[(0, 1), (1, 2), (2, 0), (2, 3)], 4);
        assert_eq!(find(&g), vec![vec![0, 1, 2, 0]]);
    }

    #[test]
    fn a_self_loop_is_a_cycle() {
        assert_eq!(find(&graph(&[(0, 0)], 2)), vec![vec![0, 0]]);
    }

    #[test]
    fn a_dag_has_none() {
        assert!(find(&graph(&[(0, 1), (0, 2), (1, 3), (2, 3)], 4)).is_empty());
    }
}
