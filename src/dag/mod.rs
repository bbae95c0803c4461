//! The stage graph: an edge A → B when an output of A is, contains, or lies inside
//! a dependency of B. Built with petgraph; cycles are reported with their path.

mod cycle;
pub mod render;
mod select;

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed, Walker};

use crate::pipeline::{ErrorKind, Pipeline, PipelineError, RepoPath, Stage};

pub use select::{SelectError, Selection, target_path};

/// The DAG of a pipeline's stages; node `i` is `pipeline.stages[i]`.
#[derive(Debug)]
pub struct Dag {
    graph: DiGraph<usize, ()>,
}

/// The stages that write a path, keyed by output path.
pub struct Producers<'p> {
    by_path: BTreeMap<&'p str, usize>,
}

impl<'p> Producers<'p> {
    /// Indexes the outputs of `stages`.
    pub fn new(stages: &'p [Stage]) -> Self {
        let mut by_path = BTreeMap::new();
        for (index, stage) in stages.iter().enumerate() {
            for out in &stage.outs {
                by_path.entry(out.path.as_str()).or_insert(index);
            }
        }
        Self { by_path }
    }

    /// Returns every stage with an output that is, contains, or lies inside `path`.
    pub fn of(&self, path: &RepoPath) -> BTreeSet<usize> {
        let mut stages = BTreeSet::new();
        if path.as_str().is_empty() {
            stages.extend(self.by_path.values().copied());
            return stages;
        }
        stages.extend(self.by_path.get(path.as_str()).copied());
        stages.extend(path.ancestors().filter_map(|a| self.by_path.get(a).copied()));
        let prefix = format!("{}/", path.as_str());
        stages.extend(
            self.by_path
                .range(prefix.as_str()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .map(|(_, s)| *s),
        );
        stages
    }
}

impl Dag {
    /// Builds the DAG of `pipeline`; a cycle is an error that prints it.
    pub fn build(pipeline: &Pipeline) -> Result<Self, Vec<PipelineError>> {
        let stages = &pipeline.stages;
        let mut graph = DiGraph::with_capacity(stages.len(), stages.len());
        for index in 0..stages.len() {
            graph.add_node(index);
        }
        let producers = Producers::new(stages);
        for (consumer, stage) in stages.iter().enumerate() {
            let mut parents = BTreeSet::new();
            for (path, _) in stage.repo_deps() {
                parents.extend(producers.of(path));
            }
            for parent in parents {
                graph.add_edge(NodeIndex::new(parent), NodeIndex::new(consumer), ());
            }
        }
        let cycles = cycle::find(&graph);
        if cycles.is_empty() {
            return Ok(Self { graph });
        }
        Err(cycles
            .into_iter()
            .map(|cycle| {
                let first = &stages[cycle[0]];
                let names = cycle.iter().map(|&i| stages[i].name.clone()).collect();
                PipelineError::new(ErrorKind::Cycle { cycle: names }, &pipeline.file, first.span)
            })
            .collect())
    }

    /// Returns the number of stages.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Returns true when the pipeline has no stages.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Returns every edge `(producer, consumer)`, sorted.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (a.index(), b.index()))
            .collect();
        edges.sort_unstable();
        edges
    }

    /// Returns the stages that `stage` directly depends on, sorted.
    pub fn parents(&self, stage: usize) -> Vec<usize> {
        self.neighbours(stage, Direction::Incoming)
    }

    /// Returns the stages that directly depend on `stage`, sorted.
    pub fn children(&self, stage: usize) -> Vec<usize> {
        self.neighbours(stage, Direction::Outgoing)
    }

    fn neighbours(&self, stage: usize, direction: Direction) -> Vec<usize> {
        let mut found: Vec<_> = self
            .graph
            .neighbors_directed(NodeIndex::new(stage), direction)
            .map(|n| n.index())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Returns every stage in an order where producers come before consumers;
    /// among ready stages, file order wins, so the order is stable.
    pub fn topological_order(&self) -> Vec<usize> {
        let count = self.len();
        let mut waiting: Vec<usize> = (0..count).map(|i| self.parents(i).len()).collect();
        let mut ready: BTreeSet<usize> = (0..count).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(count);
        while let Some(next) = ready.pop_first() {
            order.push(next);
            for child in self.children(next) {
                waiting[child] -= 1;
                if waiting[child] == 0 {
                    ready.insert(child);
                }
            }
        }
        order
    }

    /// Returns `stages` and everything they need, transitively.
    pub fn upstream(&self, stages: &BTreeSet<usize>) -> BTreeSet<usize> {
        let reversed = Reversed(&self.graph);
        let mut found = BTreeSet::new();
        for &stage in stages {
            found.extend(
                Dfs::new(reversed, NodeIndex::new(stage)).iter(reversed).map(|n| n.index()),
            );
        }
        found
    }

    /// Returns `stages` and everything that depends on them, transitively.
    pub fn downstream(&self, stages: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        for &stage in stages {
            found.extend(
                Dfs::new(&self.graph, NodeIndex::new(stage)).iter(&self.graph).map(|n| n.index()),
            );
        }
        found
    }
}

/// Returns a diagnostic for each dependency that does not exist and that no stage
/// produces (a warning for `dag`, an error before running anything).
pub fn missing_dependencies(pipeline: &Pipeline) -> Vec<PipelineError> {
    let producers = Producers::new(&pipeline.stages);
    let mut missing = Vec::new();
    for stage in &pipeline.stages {
        for dep in &stage.deps {
            if let crate::pipeline::DepPath::External(path) = &dep.path
                && !path.exists()
            {
                let kind = ErrorKind::MissingDependency {
                    path: path.display().to_string(),
                    stage: stage.name.clone(),
                };
                missing.push(PipelineError::new(kind, &pipeline.file, dep.span));
            }
        }
        for (path, dep) in stage.repo_deps() {
            let tracked =
                || crate::tracked::read(&pipeline.root, path.as_str()).is_ok_and(|r| r.is_some());
            if producers.of(path).is_empty() && !path.to_path(&pipeline.root).exists() && !tracked()
            {
                let kind = ErrorKind::MissingDependency {
                    path: path.to_string(),
                    stage: stage.name.clone(),
                };
                missing.push(PipelineError::new(kind, &pipeline.file, dep.span));
            }
        }
    }
    missing
}
