//! What `repro` shows while it runs: what the stages print, and with a
//! terminal one spinner line per running stage with its elapsed time and an
//! overall bar (indicatif) below it; without one, with `--quiet` or
//! `NO_COLOR`, plain lines.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipit::run::{Event, Outcome};

use super::Printer;

/// Whose output `repro` shows (every stage's is kept in `.cache/logs/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputLogs {
    /// What every stage that runs prints (`new-only` is the same: pipit never
    /// replays the output of a stage it did not run)
    #[value(alias = "new-only")]
    Full,
    /// Only what failed stages printed, when they fail
    ErrorsOnly,
    /// Nothing (`pipit logs STAGE` shows it later)
    None,
}

/// When `repro` shows a stage's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogOrder {
    /// Each line as it is printed
    Stream,
    /// A stage's lines together, when it ends
    Grouped,
}

/// How stage output is shown.
#[derive(Clone, Copy, Debug)]
pub struct Shown {
    pub logs: OutputLogs,
    pub order: LogOrder,
    /// Several stages may run at once: each line starts with its stage's name.
    pub prefix: bool,
}

/// Shows the progress of one run.
pub struct Progress {
    bars: Option<(MultiProgress, ProgressBar)>,
    running: Mutex<HashMap<String, ProgressBar>>,
    /// The lines held back until their stage ends (grouped, errors-only).
    held: Mutex<HashMap<String, Vec<String>>>,
    shown: Shown,
    quiet: bool,
}

impl Progress {
    /// Returns a display for `total` stages.
    pub fn new(total: usize, quiet: bool, shown: Shown) -> Self {
        let fancy = !quiet
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let bars = fancy.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} stages  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            // The overall time moves while a long stage runs, not only when one ends.
            overall.enable_steady_tick(Duration::from_millis(250));
            (multi, overall)
        });
        Self {
            bars,
            running: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
            shown,
            quiet,
        }
    }

    /// Shows one event.
    pub fn event(&self, printer: &Printer, event: Event) {
        match event {
            Event::Started { stage } => self.started(printer, stage),
            Event::Finished { stage, outcome, seconds } => {
                self.finished(printer, &stage, &outcome, seconds)
            }
            Event::Warning { stage, message } => self.warning(printer, &stage, &message),
            Event::Output { stage, line, .. } => self.output(printer, &stage, &line),
        }
    }

    /// Shows a line a stage printed, now or when the stage ends.
    fn output(&self, printer: &Printer, stage: &str, line: &str) {
        let text = if self.shown.prefix { format!("{stage} │ {line}") } else { line.to_owned() };
        let now = self.shown.logs == OutputLogs::Full && self.shown.order == LogOrder::Stream;
        if now {
            self.print(printer, &text);
        } else if self.shown.logs != OutputLogs::None
            && let Ok(mut held) = self.held.lock()
        {
            held.entry(stage.to_owned()).or_default().push(text);
        }
    }

    /// Shows what `stage` printed that was held back until it ended.
    fn release(&self, printer: &Printer, stage: &str, failed: bool) {
        let lines = self.held.lock().ok().and_then(|mut held| held.remove(stage));
        if self.shown.logs == OutputLogs::ErrorsOnly && !failed {
            return;
        }
        for line in lines.unwrap_or_default() {
            self.print(printer, &line);
        }
    }

    /// Returns true when a failed stage's output was just shown whole, right
    /// above its report, which need not repeat the end of its stderr.
    fn shown_whole(&self) -> bool {
        match (self.shown.logs, self.shown.order) {
            (OutputLogs::None, _) => false,
            (OutputLogs::ErrorsOnly, _) | (OutputLogs::Full, LogOrder::Grouped) => true,
            (OutputLogs::Full, LogOrder::Stream) => !self.shown.prefix,
        }
    }

    /// Prints a line above the bars, or as it is without them.
    fn print(&self, printer: &Printer, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => printer.line(text),
        }
    }

    fn started(&self, printer: &Printer, stage: String) {
        let Some((multi, _)) = &self.bars else {
            if !self.quiet {
                printer.line(&format!("running    {stage}"));
            }
            return;
        };
        let bar = multi.insert(0, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(stage.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut running) = self.running.lock() {
            running.insert(stage, bar);
        }
    }

    fn finished(&self, printer: &Printer, stage: &str, outcome: &Outcome, seconds: f64) {
        if let Some(bar) = self.running.lock().ok().and_then(|mut r| r.remove(stage)) {
            bar.finish_and_clear();
        }
        let failed = matches!(outcome, Outcome::Failed { .. });
        self.release(printer, stage, failed);
        let text = describe(stage, outcome, seconds, !self.shown_whole());
        match &self.bars {
            Some((multi, overall)) => {
                overall.inc(1);
                let _ = multi.println(&text);
            }
            None if self.quiet && !failed => {}
            None => printer.line(&text),
        }
    }

    fn warning(&self, printer: &Printer, stage: &str, message: &str) {
        let text = format!("warning: {stage}: {message}");
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(&text);
            }
            None => printer.note(&text),
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

/// Returns the line that reports a finished stage.
/// `tail`: show the end of a failed stage's stderr.
fn describe(stage: &str, outcome: &Outcome, seconds: f64, tail: bool) -> String {
    match outcome {
        Outcome::UpToDate => format!("up to date {stage}"),
        Outcome::Frozen => format!("frozen     {stage}"),
        Outcome::Ran => format!("ran        {stage} ({seconds:.2}s)"),
        Outcome::Restored => format!("restored   {stage} (restored from run cache)"),
        Outcome::OnRemote => format!("on remote  {stage} (up to date; outs left on the remote)"),
        Outcome::Failed { reason, stderr_tail } => {
            let mut text = format!("failed     {stage}: {reason}");
            for line in stderr_tail.iter().filter(|_| tail) {
                text.push_str(&format!("\n           │ {line}"));
            }
            if !stderr_tail.is_empty() {
                text.push_str(&format!("\n           all it printed: `pipit logs {stage}`"));
            }
            text
        }
        Outcome::Skipped { failed } => format!("skipped    {stage} (`{failed}` failed)"),
        Outcome::Stopped => {
            format!("not run    {stage} (stopped after a failure; --keep-going goes on)")
        }
    }
}
