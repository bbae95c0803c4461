//! The one place that writes to the terminal: results to stdout, diagnostics to
//! stderr, rendered by miette.

#![expect(clippy::print_stderr, reason = "the printer is the one place that prints")]

use std::io::{IsTerminal, Write};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// Writes command output and diagnostics.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    color: bool,
}

/// Sets up how miette renders errors that reach `main`.
pub fn install_error_hook() {
    let color = stderr_color();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(color).terminal_links(false).build())
    }));
}

fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Returns the terminal width: `COLUMNS`, else 80.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|&c| c >= 20).unwrap_or(80)
}

/// Returns true when `error` is a closed stdout (`pipit dag | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

impl Printer {
    /// Returns a printer for this process's terminal.
    pub fn new() -> Self {
        Self { color: stderr_color() }
    }

    /// Writes `text` to stdout as it is.
    pub fn out(&self, text: &str) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// Writes one line to stdout (a closed stdout is ignored).
    pub fn line(&self, text: &str) {
        let _ = self.out(&format!("{text}\n"));
    }

    /// Renders a diagnostic (error or warning) to stderr.
    pub fn diagnostic(&self, diagnostic: &dyn Diagnostic) {
        let theme =
            if self.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(terminal_width())
            .with_links(false);
        let mut text = String::new();
        match handler.render_report(&mut text, diagnostic) {
            Ok(()) => eprintln!("{text}"),
            Err(_) => eprintln!("error: {diagnostic}"),
        }
    }

    /// Renders an error that stopped a command.
    pub fn error(&self, error: &anyhow::Error) {
        let message: Vec<String> = error.chain().map(ToString::to_string).collect();
        eprintln!("error: {}", message.join(": "));
    }

    /// Writes a one-line note to stderr.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}
