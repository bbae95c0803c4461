//! What a running stage prints: each stream is read from a pipe, written
//! whole to its log file, and handed on a line at a time so that `repro` can
//! show it while the stage runs.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest line handed on; the log keeps the rest.
const MAX_LINE: usize = 16 * 1024;

/// How long to wait, after the commands end, for what they printed: a
/// process a command left running in the background may hold the pipe open.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Which of a command's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives each line a stage prints, without its line ending.
pub type OnLine = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// Cuts bytes into lines. A carriage return starts the line again, as on a
/// terminal (a progress bar redrawn in place is shown as it ends); a line
/// longer than [`MAX_LINE`] is cut there and ended with `…`.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
    cut: bool,
    /// A carriage return was the last byte: the line starts again unless a
    /// newline follows (`\r\n` ends a line).
    returned: bool,
}

impl Lines {
    /// Adds `bytes`; calls `emit` with every line they complete.
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) {
        for &byte in bytes {
            if self.returned && byte != b'\n' {
                self.pending.clear();
                self.cut = false;
            }
            self.returned = byte == b'\r';
            match byte {
                b'\n' => self.end(emit),
                b'\r' => {}
                _ if self.pending.len() < MAX_LINE => self.pending.push(byte),
                _ => self.cut = true,
            }
        }
    }

    /// Ends the input: calls `emit` with a last line that had no newline.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.pending.is_empty() || self.cut {
            self.end(emit);
        }
    }

    fn end(&mut self, emit: &mut dyn FnMut(&str)) {
        let mut line = String::from_utf8_lossy(&self.pending).into_owned();
        if self.cut {
            line.push('…');
        }
        emit(&line);
        self.pending.clear();
        self.cut = false;
    }
}

/// Returns how long readers are waited for once the commands have ended.
pub fn drain_deadline() -> Instant {
    Instant::now() + DRAIN_WAIT
}

/// A thread that copies one stream to its log and hands on its lines.
pub struct Reader {
    done: mpsc::Receiver<std::io::Result<()>>,
}

impl Reader {
    /// Starts copying `pipe` to `log`.
    pub fn start(
        stream: Stream,
        mut pipe: std::io::PipeReader,
        mut log: std::fs::File,
        on_line: OnLine,
    ) -> std::io::Result<Self> {
        let (sender, done) = mpsc::channel();
        std::thread::Builder::new().name("pipit-output".into()).spawn(move || {
            let mut lines = Lines::default();
            let mut emit = |line: &str| on_line(stream, line);
            let mut buffer = vec![0; 64 * 1024];
            let result = loop {
                match pipe.read(&mut buffer) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        if let Err(error) = log.write_all(&buffer[..n]) {
                            break Err(error);
                        }
                        lines.push(&buffer[..n], &mut emit);
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => break Err(error),
                }
            };
            lines.finish(&mut emit);
            let _ = sender.send(result.and_then(|()| log.flush()));
        })?;
        Ok(Self { done })
    }

    /// Waits until the stream ends, or until `deadline` (see
    /// [`drain_deadline`]); the error of a log that could not be written.
    pub fn wait(self, deadline: Instant) -> std::io::Result<()> {
        match self.done.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(result) => result,
            // Held open by a process left in the background: its later lines
            // still reach the log.
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.push(chunk, &mut |l| out.push(l.to_owned()));
        }
        lines.finish(&mut |l| out.push(l.to_owned()));
        out
    }

    #[test]
    fn lines_are_cut_at_newlines_across_chunks() {
        assert_eq!(lines_of(&[b"one\ntw", b"o\n", b"three"]), ["one", "two", "three"]);
        assert_eq!(lines_of(&[b"a\n\nb\n"]), ["a", "", "b"]);
        assert!(lines_of(&[b""]).is_empty());
    }

    #[test]
    fn a_carriage_return_keeps_what_the_line_ends_as() {
        assert_eq!(lines_of(&[b" 10%\r 50%\r", b"100%\n"]), ["100%"]);
        assert_eq!(lines_of(&[b"done\r\n", b"crlf\r", b"\n"]), ["done", "crlf"]);
        assert_eq!(lines_of(&[b"50%\r"]), ["50%"]);
    }

    #[test]
    fn a_long_line_is_cut_and_marked() {
        let long = vec![b'x'; MAX_LINE + 10];
        let lines = lines_of(&[&long, b"\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].chars().count(), MAX_LINE + 1);
        assert!(lines[0].ends_with('…'));
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(lines_of(&[b"caf\xe9\n"]), ["caf\u{fffd}"]);
    }
}
