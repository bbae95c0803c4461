//! The prediction log, `logs/predictions.jsonl`: one JSON line per predicted
//! record, written by a thread of its own so that no request waits for the
//! disk. Each line goes to the file in one write, so a crash loses at most
//! the lines in flight and never leaves half a line before a whole one (a
//! reader skips an unterminated last line). When the file passes its size
//! limit it is renamed `predictions.jsonl.1` (older ones shift up, the oldest
//! kept is `.KEEP`) and a new one is started.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many rotated files are kept besides the current one.
const KEEP: usize = 5;
/// How long lines wait in memory at most before they are written. The
/// writer wakes on this clock rather than on each line, so that a request
/// never pays for waking it.
const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// The writing end of the log; dropping every clone and calling
/// [`PredictionLog::close`] writes what is left.
pub struct PredictionLog {
    sender: Option<Sender<String>>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    /// Lines that could not be written (a full disk, a removed folder).
    lost: Arc<AtomicU64>,
    /// The log file.
    pub path: PathBuf,
}

impl PredictionLog {
    /// Opens (appends to) the log at `path`, rotated past `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent)?;
        }
        let mut file = append(path)?;
        end_line(&mut file)?;
        let (sender, receiver) = channel();
        let owned = path.to_path_buf();
        let lost = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&lost);
        let writer = std::thread::Builder::new()
            .name("pipit-prediction-log".into())
            .spawn(move || write_lines(&owned, file, &receiver, max_bytes, &counted))?;
        Ok(Self { sender: Some(sender), writer: Some(writer), lost, path: path.to_path_buf() })
    }

    /// Returns how many lines could not be written so far.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Queues one line (without its newline).
    pub fn write(&self, line: String) {
        if let Some(sender) = &self.sender {
            // The writer only stops when the log is closed.
            let _ = sender.send(line);
        }
    }

    /// Writes every queued line and closes the file.
    pub fn close(&mut self) -> anyhow::Result<()> {
        self.sender = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => Ok(result?),
            Some(Err(_)) => anyhow::bail!("the prediction log's writer failed"),
            None => Ok(()),
        }
    }
}

impl Drop for PredictionLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn append(path: &Path) -> std::io::Result<fs_err::File> {
    fs_err::OpenOptions::new().create(true).append(true).read(true).open(path)
}

/// Ends a last line that a crash cut short, so that the next line starts
/// whole (readers skip the broken one).
fn end_line(file: &mut fs_err::File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the lines `receiver` gives, a batch at a time, each batch in one
/// `write` of whole lines. A batch that cannot be written is counted in
/// `lost`, and the file is opened again for the next one.
fn write_lines(
    path: &Path,
    file: fs_err::File,
    receiver: &Receiver<String>,
    max_bytes: u64,
    lost: &AtomicU64,
) -> std::io::Result<()> {
    let mut out = Output { size: file.metadata()?.len(), file, batch: String::new() };
    loop {
        std::thread::sleep(FLUSH_EVERY);
        let (open, written) = drain(&mut out, path, receiver, max_bytes);
        if written.and_then(|()| out.flush()).is_err() {
            lost.fetch_add(out.batch.lines().count() as u64, Ordering::Relaxed);
            out.batch.clear();
            if let Ok(file) = append(path) {
                out.size = file.metadata().map_or(0, |m| m.len());
                out.file = file;
            }
        }
        if !open {
            return out.file.sync_data();
        }
    }
}

/// Takes the lines waiting; returns whether more may come, and whether
/// all went well so far.
fn drain(
    out: &mut Output,
    path: &Path,
    receiver: &Receiver<String>,
    max_bytes: u64,
) -> (bool, std::io::Result<()>) {
    loop {
        match receiver.try_recv() {
            Ok(line) => {
                let added = out.add(path, &line, max_bytes);
                let flushed = if out.batch.len() >= 1 << 20 { out.flush() } else { Ok(()) };
                if let Err(error) = added.and(flushed) {
                    return (true, Err(error));
                }
            }
            Err(TryRecvError::Empty) => return (true, Ok(())),
            Err(TryRecvError::Disconnected) => return (false, Ok(())),
        }
    }
}

/// The open log file, its size, and the lines not written yet.
struct Output {
    file: fs_err::File,
    size: u64,
    batch: String,
}

impl Output {
    /// Adds a line, first rotating the file if the line would take it past
    /// `max_bytes`.
    fn add(&mut self, path: &Path, line: &str, max_bytes: u64) -> std::io::Result<()> {
        let used = self.size + self.batch.len() as u64;
        if used > 0 && used + line.len() as u64 + 1 > max_bytes {
            self.flush()?;
            rotate(path)?;
            self.file = append(path)?;
            self.size = 0;
        }
        push_line(&mut self.batch, line);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.batch.is_empty() {
            self.file.write_all(self.batch.as_bytes())?;
            self.size += self.batch.len() as u64;
            self.batch.clear();
        }
        Ok(())
    }
}

fn push_line(batch: &mut String, line: &str) {
    batch.push_str(line);
    batch.push('\n');
}

/// Renames `path` to `path.1`, shifting older files up and dropping the oldest.
fn rotate(path: &Path) -> std::io::Result<()> {
    let numbered = |n: usize| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    for n in (1..KEEP).rev() {
        let from = numbered(n);
        if from.exists() {
            fs_err::rename(&from, numbered(n + 1))?;
        }
    }
    fs_err::rename(path, numbered(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_whole_and_rotated_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/predictions.jsonl");
        let mut log = PredictionLog::open(&path, 100).unwrap();
        for i in 0..30 {
            log.write(format!("{{\"n\":{i}}}"));
        }
        log.close().unwrap();
        let current = fs_err::read_to_string(&path).unwrap();
        assert!(current.ends_with('\n'));
        let mut all = String::new();
        for n in (1..=KEEP).rev() {
            all.push_str(
                &fs_err::read_to_string(format!("{}.{n}", path.display())).unwrap_or_default(),
            );
        }
        all.push_str(&current);
        let numbers: Vec<usize> = all
            .lines()
            .map(|l| l.trim_start_matches("{\"n\":").trim_end_matches('}').parse().unwrap())
            .collect();
        let kept = numbers.len();
        assert!(kept > 0 && numbers == (30 - kept..30).collect::<Vec<_>>(), "{numbers:?}");
        assert!(path.with_file_name("predictions.jsonl.1").exists(), "rotated");
    }
}

#[cfg(test)]
mod torn {
    use super::*;

    #[test]
    fn a_line_a_crash_cut_short_is_ended_before_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.jsonl");
        fs_err::write(&path, "{\"n\":1}\n{\"n\":").unwrap();
        let mut log = PredictionLog::open(&path, 1 << 20).unwrap();
        log.write("{\"n\":2}".into());
        log.close().unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "{\"n\":1}\n{\"n\":\n{\"n\":2}\n");
        assert_eq!(log.lost(), 0);
    }
}
