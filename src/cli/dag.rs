//! `pipit dag`: draw the pipeline.

use clap::Args;
use pipit::dag::render::{self, Graph};
use pipit::dag::{Selection, missing_dependencies};

use super::{Outcome, Printer, printer, workspace};

/// Arguments of `pipit dag`
#[derive(Debug, Args)]
pub struct DagArgs {
    /// Draw only this stage, family (`train`), glob (`train@*`) or output path and
    /// what it needs
    target: Option<String>,
    /// Draw what depends on the target instead of what it needs
    #[arg(long)]
    downstream: bool,
    /// Print Graphviz DOT
    #[arg(long, group = "format")]
    dot: bool,
    /// Print a Mermaid flowchart (GitHub renders it)
    #[arg(long, group = "format")]
    mermaid: bool,
    /// Print the nodes and edges as JSON
    #[arg(long, group = "format")]
    json: bool,
    /// Draw the graph of output files instead of stages
    #[arg(long, conflicts_with = "collapse")]
    outs: bool,
    /// Draw each foreach/matrix family as one node with its count
    #[arg(long)]
    collapse: bool,
}

/// Runs `pipit dag`.
pub fn run(args: DagArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(workspace) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    for warning in missing_dependencies(&workspace.pipeline) {
        printer.diagnostic(&warning.into_warning());
    }
    let selection = if args.downstream { Selection::Downstream } else { Selection::Upstream };
    let targets: Vec<String> = args.target.into_iter().collect();
    let Some(selected) = workspace.select(&targets, selection, printer) else {
        return Ok(Outcome::Invalid);
    };
    let (pipeline, dag) = (&workspace.pipeline, &workspace.dag);
    let graph = if args.outs {
        Graph::outputs(pipeline, &selected)
    } else {
        let graph = Graph::stages(pipeline, dag, &selected);
        if args.collapse { graph.collapse(pipeline, &selected) } else { graph }
    };
    let text = if args.dot {
        render::dot(&graph)
    } else if args.mermaid {
        render::mermaid(&graph)
    } else if args.json {
        render::json(&graph)
    } else {
        render::text(&graph, printer::terminal_width())
    };
    printer.out(&text)?;
    Ok(Outcome::Success)
}
