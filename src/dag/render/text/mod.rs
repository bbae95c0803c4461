//! The terminal drawing of a DAG as boxes: rows of boxes, top to bottom, with
//! the lines between them routed so that none overlap (see `route`). A rank
//! too wide for the terminal wraps onto several rows instead of running off
//! the screen; a graph whose edges cannot be drawn at all is not drawn.

mod canvas;
mod layout;
mod ranks;
mod route;

use super::Graph;
use canvas::Canvas;
use route::Level;

/// Draws `graph` as boxes for a terminal `width` columns wide; `None` when
/// its edges cannot be drawn at this width.
pub fn boxes(graph: &Graph, width: usize) -> Option<String> {
    if graph.nodes.is_empty() {
        return Some(String::new());
    }
    let layout = layout::layout(graph, width)?;
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
    Some(canvas.render())
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
