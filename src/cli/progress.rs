//! What `repro` shows while it runs: what the stages print, and with a
//! terminal one spinner line per running stage with its elapsed time and an
//! overall bar (indicatif) below it; without one, with `--quiet` or
//! `NO_COLOR`, plain lines.

use std::collections::{HashMap, VecDeque};
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
    /// Without prefixes, the events shown in the order of the stages.
    in_order: Mutex<InOrder>,
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
            in_order: Mutex::new(InOrder::default()),
            shown,
            quiet,
        }
    }

    /// Shows one event; without prefixes, after those of the stage before.
    pub fn event(&self, printer: &Printer, event: Event) {
        if self.shown.prefix {
            return self.show(printer, event);
        }
        // Shown while it is held, so that no event of the stage after it,
        // let through meanwhile, is shown before them.
        let mut in_order = self.in_order.lock().unwrap_or_else(|p| p.into_inner());
        for event in in_order.admit(event) {
            self.show(printer, event);
        }
    }

    fn show(&self, printer: &Printer, event: Event) {
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

    /// Shows what is still held, and removes the bars.
    pub fn finish(&self, printer: &Printer) {
        let held =
            std::mem::take(&mut self.in_order.lock().unwrap_or_else(|p| p.into_inner()).held);
        for event in held {
            self.show(printer, event);
        }
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

/// One stage at a time: a stage's outs are stored while the next one runs,
/// so its report can come after the next one has started and printed. The
/// events of other stages wait until the stage whose report is due has it.
#[derive(Default)]
struct InOrder {
    /// The stage started whose report is not shown yet.
    due: Option<String>,
    /// The events of the stages after it, as they came.
    held: VecDeque<Event>,
}

impl InOrder {
    /// Takes `event` and returns the events to show now, in order.
    fn admit(&mut self, event: Event) -> Vec<Event> {
        if !self.lets_through(&event) {
            self.held.push_back(event);
            return Vec::new();
        }
        let mut ready = vec![event];
        self.note(&ready[0]);
        while let Some(next) = self.held.front()
            && self.lets_through(next)
            && let Some(next) = self.held.pop_front()
        {
            self.note(&next);
            ready.push(next);
        }
        ready
    }

    fn lets_through(&self, event: &Event) -> bool {
        self.due.as_deref().is_none_or(|due| due == event.stage())
    }

    /// Follows which stage's report is due once `event` is shown.
    fn note(&mut self, event: &Event) {
        match event {
            Event::Started { stage } => self.due = Some(stage.clone()),
            Event::Finished { .. } => self.due = None,
            Event::Warning { .. } | Event::Output { .. } => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use pipit::run::Stream;

    fn started(stage: &str) -> Event {
        Event::Started { stage: stage.into() }
    }
    fn line(stage: &str, line: &str) -> Event {
        Event::Output { stage: stage.into(), stream: Stream::Stdout, line: line.into() }
    }
    fn ran(stage: &str) -> Event {
        Event::Finished { stage: stage.into(), outcome: Outcome::Ran, seconds: 0.0 }
    }
    fn up_to_date(stage: &str) -> Event {
        Event::Finished { stage: stage.into(), outcome: Outcome::UpToDate, seconds: 0.0 }
    }
    fn shown(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| format!("{} {}", e.stage(), describe_kind(e))).collect()
    }
    fn describe_kind(event: &Event) -> String {
        match event {
            Event::Started { .. } => "started".into(),
            Event::Finished { outcome, .. } => format!("{outcome:?}"),
            Event::Warning { message, .. } => format!("warns {message}"),
            Event::Output { line, .. } => format!("says {line}"),
        }
    }

    #[test]
    fn the_stage_after_one_being_stored_waits_for_its_report() {
        let mut in_order = InOrder::default();
        let mut all = Vec::new();
        let mut admit = |event| {
            let ready = in_order.admit(event);
            all.extend(shown(&ready));
            ready.len()
        };
        assert_eq!(admit(started("one")), 1);
        assert_eq!(admit(line("one", "1")), 1);
        // `one`'s outs are being stored: `two` starts, prints, and `three`
        // is found up to date, before `one` is reported.
        assert_eq!(admit(started("two")), 0);
        assert_eq!(admit(line("two", "2")), 0);
        assert_eq!(admit(Event::Warning { stage: "one".into(), message: "healed".into() }), 1);
        assert_eq!(admit(ran("one")), 3, "one's report, then what two held");
        assert_eq!(admit(line("two", "3")), 1);
        assert_eq!(admit(up_to_date("three")), 0, "after two's report");
        assert_eq!(admit(ran("two")), 2);
        assert_eq!(admit(up_to_date("four")), 1);
        assert_eq!(
            all,
            [
                "one started",
                "one says 1",
                "one warns healed",
                "one Ran",
                "two started",
                "two says 2",
                "two says 3",
                "two Ran",
                "three UpToDate",
                "four UpToDate"
            ]
        );
    }
}
