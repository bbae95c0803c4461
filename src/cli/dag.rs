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
    /// Draw rows of boxes instead of one stage per line (lanes, when the
    /// boxes do not fit the terminal)
    #[arg(long, group = "format")]
    boxes: bool,
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
        let width = printer::terminal_width();
        let mut text = if args.boxes { boxes(&graph, width) } else { render::lanes(&graph, width) };
        if args.collapse {
            text.push_str(&families(pipeline, &selected, printer::terminal_width()));
        }
        text
    };
    printer.out(&text)?;
    Ok(Outcome::Success)
}

/// Returns the box drawing when it fits `width` columns, else lanes with a
/// note saying why.
fn boxes(graph: &Graph, width: usize) -> String {
    let fits = |drawing: &String| {
        drawing.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= width)
    };
    if let Some(drawing) = render::boxes(graph, width).filter(fits) {
        return drawing;
    }
    let note = format!("(the boxes do not fit in {width} columns: one stage per line instead)\n");
    note + &render::lanes(graph, width)
}

/// Returns, under a collapsed drawing, which stages each family box stands
/// for: `train ×12: housing-linear, housing-tree, …`, wrapped to `width`.
fn families(
    pipeline: &pipit::pipeline::Pipeline,
    selected: &std::collections::BTreeSet<usize>,
    width: usize,
) -> String {
    let mut members: Vec<(String, Vec<String>)> = Vec::new();
    for stage in selected.iter().map(|&index| &pipeline.stages[index]) {
        let Some(family) = &stage.family else { continue };
        let member = stage.name.strip_prefix(&format!("{family}@")).unwrap_or(&stage.name);
        match members.iter_mut().find(|(name, _)| name == family) {
            Some((_, list)) => list.push(member.to_owned()),
            None => members.push((family.clone(), vec![member.to_owned()])),
        }
    }
    let mut out = String::new();
    if !members.is_empty() {
        out.push('\n');
    }
    for (family, list) in members {
        let mut line = format!("{family} ×{}:", list.len());
        for (i, member) in list.iter().enumerate() {
            let piece =
                if i + 1 < list.len() { format!(" {member},") } else { format!(" {member}") };
            if line.chars().count() + piece.chars().count() > width.max(40) {
                out.push_str(line.trim_end());
                out.push('\n');
                line = "   ".to_owned();
            }
            line.push_str(&piece);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
