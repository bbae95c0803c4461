//! A character grid on which lines are drawn as connections (up, down, left,
//! right) and turned into box-drawing characters at the end, so that corners,
//! junctions and crossings come out right by construction.

const UP: u8 = 1;
const DOWN: u8 = 2;
const LEFT: u8 = 4;
const RIGHT: u8 = 8;
/// Marks the second column of a wide character: drawn as nothing.
const WIDE: char = '\u{0}';

/// A grid of text and line connections.
#[derive(Default)]
pub struct Canvas {
    text: Vec<Vec<Option<char>>>,
    links: Vec<Vec<u8>>,
}

impl Canvas {
    fn reach(&mut self, x: usize, y: usize) {
        if self.text.len() <= y {
            self.text.resize_with(y + 1, Vec::new);
            self.links.resize_with(y + 1, Vec::new);
        }
        if self.text[y].len() <= x {
            self.text[y].resize(x + 1, None);
            self.links[y].resize(x + 1, 0);
        }
    }

    /// Writes `text` at (`x`, `y`), over any line; a wide character (CJK) takes
    /// two columns.
    pub fn put(&mut self, x: usize, y: usize, text: &str) {
        let mut column = x;
        for c in text.chars() {
            let width = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if width == 0 {
                continue;
            }
            self.reach(column + width - 1, y);
            self.text[y][column] = Some(c);
            for filler in 1..width {
                self.text[y][column + filler] = Some(WIDE);
            }
            column += width;
        }
    }

    fn link(&mut self, x: usize, y: usize, bits: u8) {
        self.reach(x, y);
        self.links[y][x] |= bits;
    }

    /// Draws a vertical line at `x` from `top` to `bottom` (inclusive); `open_top`
    /// and `open_bottom` continue it into the cells above and below.
    pub fn vertical(
        &mut self,
        x: usize,
        top: usize,
        bottom: usize,
        open_top: bool,
        open_bottom: bool,
    ) {
        for y in top..=bottom {
            let mut bits = 0;
            if y > top || open_top {
                bits |= UP;
            }
            if y < bottom || open_bottom {
                bits |= DOWN;
            }
            self.link(x, y, bits);
        }
    }

    /// Draws a horizontal line on row `y` between `a` and `b` (inclusive).
    pub fn horizontal(&mut self, y: usize, a: usize, b: usize) {
        let (left, right) = (a.min(b), a.max(b));
        for x in left..=right {
            let mut bits = 0;
            if x > left {
                bits |= LEFT;
            }
            if x < right {
                bits |= RIGHT;
            }
            self.link(x, y, bits);
        }
    }

    /// Returns the drawing, trailing spaces trimmed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (text, links) in self.text.iter().zip(&self.links) {
            let line: String =
                text.iter().zip(links).map(|(c, bits)| c.unwrap_or_else(|| glyph(*bits))).collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn glyph(bits: u8) -> char {
    match bits {
        0 => ' ',
        b if b == UP | DOWN | LEFT | RIGHT => '┼',
        b if b == UP | DOWN | LEFT => '┤',
        b if b == UP | DOWN | RIGHT => '├',
        b if b == DOWN | LEFT | RIGHT => '┬',
        b if b == UP | LEFT | RIGHT => '┴',
        b if b == DOWN | RIGHT => '┌',
        b if b == DOWN | LEFT => '┐',
        b if b == UP | RIGHT => '└',
        b if b == UP | LEFT => '┘',
        b if b & (UP | DOWN) != 0 && b & (LEFT | RIGHT) == 0 => '│',
        _ => '─',
    }
}

#[cfg(test)]
mod tests {
    use super::Canvas;

    #[test]
    fn junctions_and_crossings_come_from_connections() {
        let mut canvas = Canvas::default();
        canvas.vertical(2, 0, 2, false, false);
        canvas.horizontal(1, 0, 4);
        canvas.vertical(4, 1, 2, false, false);
        canvas.put(0, 3, "ab");
        assert_eq!(canvas.render(), "  │\n──┼─┐\n  │ │\nab\n");
    }
}
