//! SVG charts drawn by hand (no scripts, nothing fetched): lines and points
//! on numeric axes, horizontal bars, and a confusion matrix.

use std::fmt::Write as _;

use crate::html::escape;

/// Colours for series, in order (Tableau 10).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// The colour of series `index`.
pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// One line or set of points.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// How series are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Line,
    Points,
    /// The points faint, a centred moving average through them.
    Smoothed,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 50.0;
/// The most points a line is drawn with (every n-th beyond, the last kept).
const MOST_LINE_POINTS: usize = 2_000;
/// The most points a scatter draws, and the most that get a tooltip.
const MOST_POINTS: usize = 5_000;
const MOST_TOOLTIPS: usize = 500;

/// Returns about `count` round tick values covering `low..=high`.
pub fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low {
        return vec![low];
    }
    let rough = (high - low) / count.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Returns a tick's text: as few decimals as the step needs.
fn tick_text(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize + 1 };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// The range a chart shows for `values`: padded a little, never empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if high - low < f64::EPSILON * low.abs().max(1.0) {
        return (low - 0.5, high + 0.5);
    }
    let pad = (high - low) * 0.03;
    (low - pad, high + pad)
}

/// Keeps at most `most` points: every n-th, and the last.
fn thinned(points: &[(f64, f64)], most: usize) -> Vec<(f64, f64)> {
    if points.len() <= most {
        return points.to_vec();
    }
    let step = points.len().div_ceil(most);
    let mut kept: Vec<(f64, f64)> = points.iter().step_by(step).copied().collect();
    if let Some(last) = points.last().filter(|last| kept.last() != Some(last)) {
        kept.push(*last);
    }
    kept
}

/// The centred moving average of `points` (ordered by x) over a window of
/// about a twentieth of them.
pub fn moving_average(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let half = (points.len() / 40).max(1);
    (0..points.len())
        .map(|i| {
            let window = &points[i.saturating_sub(half)..(i + half + 1).min(points.len())];
            let mean = window.iter().map(|p| p.1).sum::<f64>() / window.len() as f64;
            (points[i].0, mean)
        })
        .collect()
}

/// Draws `series` against numeric axes named `x_label` and `y_label`.
pub fn xy(series: &[Series], mark: Mark, x_label: &str, y_label: &str) -> String {
    let all = || series.iter().flat_map(|s| &s.points);
    let (x_low, x_high) = range(all().map(|p| p.0));
    let (y_low, y_high) = range(all().map(|p| p.1));
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x_low) / (x_high - x_low) * plot_w;
    let sy = |y: f64| TOP + plot_h - (y - y_low) / (y_high - y_low) * plot_h;
    let mut svg = open(WIDTH, HEIGHT, &format!("{y_label} against {x_label}"));
    grid(&mut svg, (x_low, x_high), (y_low, y_high), &sx, &sy);
    for (index, one) in series.iter().enumerate() {
        let colour = colour(index);
        let path = |points: &[(f64, f64)]| -> String {
            let mut d = String::new();
            for (i, (x, y)) in points.iter().enumerate() {
                let _ = write!(d, "{}{:.1},{:.1}", if i == 0 { "M" } else { "L" }, sx(*x), sy(*y));
            }
            d
        };
        match mark {
            Mark::Line => {
                let _ = write!(
                    svg,
                    r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="2"><title>{}</title></path>"#,
                    path(&thinned(&one.points, MOST_LINE_POINTS)),
                    escape(&one.label)
                );
            }
            Mark::Smoothed => {
                let _ = write!(
                    svg,
                    r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1" opacity="0.3"/><path d="{}" fill="none" stroke="{colour}" stroke-width="2.5"><title>{}</title></path>"#,
                    path(&thinned(&one.points, MOST_LINE_POINTS)),
                    path(&thinned(&moving_average(&one.points), MOST_LINE_POINTS)),
                    escape(&one.label)
                );
            }
            Mark::Points => {
                let kept = thinned(&one.points, MOST_POINTS);
                let tooltips = kept.len() <= MOST_TOOLTIPS;
                for (x, y) in kept {
                    let _ = write!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}" fill-opacity="0.6">"#,
                        sx(x),
                        sy(y)
                    );
                    if tooltips {
                        let _ = write!(svg, "<title>{}: ({x}, {y})</title>", escape(&one.label));
                    }
                    svg.push_str("</circle>");
                }
            }
        }
    }
    axis_labels(&mut svg, x_label, y_label);
    svg.push_str("</svg>");
    svg
}

fn open(width: f64, height: f64, label: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}">"#,
        escape(label)
    )
}

/// Draws the frame, grid lines and tick labels.
fn grid(
    svg: &mut String,
    (x_low, x_high): (f64, f64),
    (y_low, y_high): (f64, f64),
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
) {
    let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="#fbfcfd" stroke="#b8c2cf"/>"##,
        right - LEFT,
        bottom - TOP
    );
    let xs = ticks(x_low, x_high, 8);
    let x_step = xs.get(1).zip(xs.first()).map_or(1.0, |(b, a)| b - a);
    for x in &xs {
        let px = sx(*x);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{bottom}" stroke="#e6ebf0"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            bottom + 16.0,
            tick_text(*x, x_step)
        );
    }
    let ys = ticks(y_low, y_high, 6);
    let y_step = ys.get(1).zip(ys.first()).map_or(1.0, |(b, a)| b - a);
    for y in &ys {
        let py = sy(*y);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#e6ebf0"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT - 6.0,
            py + 4.0,
            tick_text(*y, y_step)
        );
    }
}

fn axis_labels(svg: &mut String, x_label: &str, y_label: &str) {
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-weight="600">{}</text><text transform="translate(16 {}) rotate(-90)" text-anchor="middle" font-weight="600">{}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 10.0,
        escape(x_label),
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        escape(y_label)
    );
}

/// Horizontal bars: per category (rows), one bar per series (the value for
/// that category), series in palette order.
pub fn bars(categories: &[String], series: &[(String, Vec<Option<f64>>)], x_label: &str) -> String {
    let label_width = 200.0;
    let bar = 16.0;
    let group = bar * series.len() as f64 + 8.0;
    let height = TOP + group * categories.len() as f64 + BOTTOM;
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let (low, high) = range(values.chain([0.0]));
    let low = low.min(0.0);
    let plot_w = WIDTH - label_width - RIGHT;
    let sx = |x: f64| label_width + (x - low) / (high - low) * plot_w;
    let mut svg = open(WIDTH, height, x_label);
    for (i, category) in categories.iter().enumerate() {
        let top = TOP + i as f64 * group;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_width - 8.0,
            top + group / 2.0 + 4.0,
            escape(&clip(category, 30))
        );
        for (s, (name, values)) in series.iter().enumerate() {
            let Some(value) = values.get(i).copied().flatten() else { continue };
            let (from, to) = (sx(0.0_f64.max(low)), sx(value));
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{}" fill="{}"><title>{}: {value}</title></rect>"#,
                from.min(to),
                top + 4.0 + s as f64 * bar,
                (to - from).abs(),
                bar - 2.0,
                colour(s),
                escape(name)
            );
        }
    }
    let bottom = height - BOTTOM;
    let xs = ticks(low, high, 6);
    let step = xs.get(1).zip(xs.first()).map_or(1.0, |(b, a)| b - a);
    for x in &xs {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{bottom}" stroke="#e6ebf0"/><text x="{0:.1}" y="{1}" text-anchor="middle">{2}</text>"##,
            sx(*x),
            bottom + 16.0,
            tick_text(*x, step)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-weight="600">{}</text></svg>"#,
        label_width + plot_w / 2.0,
        height - 10.0,
        escape(x_label)
    );
    svg
}

/// A confusion matrix: `counts[actual][predicted]`, drawn as shaded cells
/// with their counts (or, `normalized`, each row's fractions).
pub fn confusion(
    labels: &[String],
    counts: &[Vec<f64>],
    normalized: bool,
    (x_label, y_label): (&str, &str),
) -> String {
    let cell = (360.0 / labels.len().max(1) as f64).clamp(28.0, 90.0);
    let left = 130.0;
    let top = 40.0;
    let size = cell * labels.len() as f64;
    let (width, height) = (left + size + 20.0, top + size + 50.0);
    let shown: Vec<Vec<f64>> = counts
        .iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            if normalized && total > 0.0 {
                row.iter().map(|c| c / total).collect()
            } else {
                row.clone()
            }
        })
        .collect();
    let most = shown.iter().flatten().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let mut svg = open(width, height, &format!("confusion matrix of {y_label} by {x_label}"));
    for (i, label) in labels.iter().enumerate() {
        let centre = i as f64 * cell + cell / 2.0;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            left - 6.0,
            top + centre + 4.0,
            escape(&clip(label, 16)),
            left + centre,
            top - 8.0,
            escape(&clip(label, 10))
        );
    }
    for (i, row) in shown.iter().enumerate() {
        for (j, value) in row.iter().enumerate() {
            let share = value / most;
            let fill = format!("rgba(78, 121, 167, {:.3})", 0.08 + 0.92 * share);
            let ink = if share > 0.55 { "#ffffff" } else { "#1d2430" };
            let text =
                if normalized { format!("{value:.2}") } else { format!("{}", value.round()) };
            let (x, y) = (left + j as f64 * cell, top + i as f64 * cell);
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{fill}" stroke="#ffffff"><title>{}: {}, {}: {}: {text}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" style="fill: {ink}">{text}</text>"##,
                escape(x_label),
                escape(&labels[i]),
                escape(y_label),
                escape(&labels[j]),
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="600">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" font-weight="600">{}</text></svg>"#,
        left + size / 2.0,
        top + size + 30.0,
        escape(y_label),
        top + size / 2.0,
        escape(x_label)
    );
    svg
}

/// Cuts `text` to `most` characters, marking the cut.
fn clip(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        text.to_owned()
    } else {
        text.chars().take(most - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(ticks(-3.2, 14.9, 4), [0.0, 5.0, 10.0]);
        assert_eq!(tick_text(0.25, 0.25), "0.25");
        assert_eq!(tick_text(1500.0, 500.0), "1500");
    }

    #[test]
    fn long_series_are_thinned_keeping_the_last_point() {
        let points: Vec<_> = (0..10_001).map(|i| (i as f64, 0.0)).collect();
        let kept = thinned(&points, 2_000);
        assert!(kept.len() <= 2_001);
        assert_eq!(kept.last(), Some(&(10_000.0, 0.0)));
    }

    #[test]
    fn the_moving_average_smooths_alternating_values() {
        let points: Vec<_> =
            (0..80).map(|i| (i as f64, if i % 2 == 0 { 0.0 } else { 1.0 })).collect();
        let smooth = moving_average(&points);
        assert!(smooth[40].1 > 0.3 && smooth[40].1 < 0.7, "{:?}", smooth[40]);
    }

    #[test]
    fn a_normalized_confusion_matrix_shows_each_rows_fractions() {
        let labels = ["0".to_owned(), "1".to_owned()];
        let svg =
            confusion(&labels, &[vec![8.0, 2.0], vec![1.0, 3.0]], true, ("actual", "predicted"));
        assert!(svg.contains(">0.80</text>") && svg.contains(">0.75</text>"), "{svg}");
        let counts = confusion(&labels, &[vec![8.0, 2.0], vec![1.0, 3.0]], false, ("a", "p"));
        assert!(counts.contains(">8</text>") && counts.contains(">3</text>"));
    }
}
