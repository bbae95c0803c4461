//! Self-contained HTML reports: one file, inline CSS and SVG, no scripts and
//! nothing fetched, so a report opens offline and in a CI artifact viewer.

use std::fmt::Write as _;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Returns a whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; margin: 2rem auto; max-width: 980px; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #dde3ea; padding-bottom: .3rem; }}
.muted {{ color: #5f6b7a; }}
table {{ border-collapse: collapse; margin: .8rem 0; font-variant-numeric: tabular-nums; }}
th, td {{ padding: .3rem .8rem; border-bottom: 1px solid #e6ebf0; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
th {{ background: #f4f6f9; font-weight: 600; }}
tr.best td {{ font-weight: 600; background: #eef7ee; }}
.tag {{ display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .8rem; }}
.yes {{ background: #fde2e1; color: #9b1c1c; }}
.no {{ background: #e3f4e4; color: #1f6f2a; }}
.accepted {{ background: #e3f4e4; color: #1f6f2a; }}
.rejected {{ background: #fde2e1; color: #9b1c1c; }}
svg text {{ font: 12px system-ui, sans-serif; fill: #1d2430; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = escape(title)
    )
}

/// A horizontal bar chart: one bar per (label, value), scaled from `low` to
/// `high`, the bar at `highlight` drawn in the accent colour.
pub fn bar_chart(bars: &[(String, f64)], low: f64, high: f64, highlight: Option<usize>) -> String {
    let (label_width, bar_width, row) = (220.0, 520.0, 26.0);
    let height = row * bars.len() as f64 + 24.0;
    let span = (high - low).max(f64::EPSILON);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" role="img">"#,
        label_width + bar_width + 80.0
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let width = if value.is_finite() {
            ((value - low) / span).clamp(0.0, 1.0) * bar_width
        } else {
            0.0
        };
        let colour = if highlight == Some(i) { "#2f7d32" } else { "#7a93b5" };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{label_width}" y="{y}" width="{width:.1}" height="{}" fill="{colour}" rx="2"/><text x="{}" y="{}">{}</text>"#,
            label_width - 8.0,
            y + row * 0.6,
            escape(label),
            row - 8.0,
            label_width + width + 6.0,
            y + row * 0.6,
            if value.is_finite() {
                format!("{:.4}", crate::number::Fixed(*value))
            } else {
                "–".to_owned()
            }
        );
    }
    let axis = height - 16.0;
    let _ = write!(
        svg,
        r##"<line x1="{label_width}" y1="{axis}" x2="{}" y2="{axis}" stroke="#b8c2cf"/><text x="{label_width}" y="{}" class="muted">{low:.2}</text><text x="{}" y="{}" text-anchor="end">{high:.2}</text></svg>"##,
        label_width + bar_width,
        axis + 13.0,
        label_width + bar_width,
        axis + 13.0
    );
    svg
}
