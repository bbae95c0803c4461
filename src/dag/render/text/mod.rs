//! The terminal drawing of a DAG: rows of boxes, top to bottom, with the lines
//! between them routed so that none overlap (see `route`). A rank too wide for
//! the terminal wraps onto several rows instead of running off the screen.

mod canvas;
mod layout;
mod ranks;
mod route;

use super::Graph;
use canvas::Canvas;
use route::Level;

/// Draws `graph` for a terminal `width` columns wide.
pub fn text(graph: &Graph, width: usize) -> String {
    if graph.nodes.is_empty() {
        return String::new();
    }
    let Some(layout) = layout::layout(graph, width) else { return listing(graph, width) };
    let channels: Vec<route::Channel> =
        (0..layout.rows.len().saturating_sub(1)).map(|row| route::route(&layout, row)).collect();
    let mut canvas = Canvas::default();
    let mut y = 0;
    for row in 0..layout.rows.len() {
        let ports: Vec<(usize, usize)> =
            if row == 0 { Vec::new() } else { channels[row - 1].ports.clone() };
        draw_row(&mut canvas, &layout, row, y, &ports);
        y += 3;
        if let Some(channel) = channels.get(row) {
            let height = channel.tracks.len().max(1);
            draw_channel(&mut canvas, channel, y, height);
            y += height;
        }
    }
    canvas.render()
}

fn draw_row(
    canvas: &mut Canvas,
    layout: &layout::Layout,
    row: usize,
    y: usize,
    ports: &[(usize, usize)],
) {
    for &node in &layout.rows[row] {
        let (x, width) = (layout.x[node], layout.width[node]);
        let inner = "─".repeat(width - 2);
        canvas.put(x, y, &format!("╭{inner}╮"));
        canvas.put(x, y + 1, &format!("│ {} │", layout.label[node]));
        canvas.put(x, y + 2, &format!("╰{inner}╯"));
        for &(target, column) in ports {
            if target == node {
                canvas.put(column, y, "┴");
            }
        }
        if !layout.children[node].is_empty() {
            canvas.put(layout.port(node), y + 2, "┬");
        }
    }
    for &(_, column) in &layout.passes[row] {
        canvas.vertical(column, y, y + 2, true, true);
    }
}

fn draw_channel(canvas: &mut Canvas, channel: &route::Channel, top: usize, height: usize) {
    let bottom = top + height - 1;
    let level_y = |level: Level| match level {
        Level::Top => top,
        Level::Track(i) => top + i,
        Level::Bottom => bottom,
    };
    for (i, &(from, to)) in channel.tracks.iter().enumerate() {
        canvas.horizontal(top + i, from, to);
    }
    for &(column, from, to) in &channel.verticals {
        let (y0, y1) = (level_y(from), level_y(to));
        canvas.vertical(column, y0, y1, from == Level::Top, to == Level::Bottom);
    }
}

/// The fallback for graphs whose edges cannot be drawn at this width: every
/// node in order with the nodes it depends on.
fn listing(graph: &Graph, width: usize) -> String {
    let mut parents = vec![Vec::new(); graph.nodes.len()];
    for &(from, to) in &graph.edges {
        parents[to].push(graph.nodes[from].label());
    }
    let mut out = format!(
        "(too many crossing edges to draw in {width} columns; each stage with what it needs.\n \
         Draw less with a target or --collapse, or all of it with --dot.)\n"
    );
    for (node, parents) in graph.nodes.iter().zip(parents) {
        out.push_str(&node.label());
        if !parents.is_empty() {
            out.push_str(" <- ");
            out.push_str(&parents.join(", "));
        }
        out.push('\n');
    }
    out
}
