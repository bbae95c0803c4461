//! Running a stage's commands: `sh -c` in its working directory, with the pipit
//! binary's folder first on PATH, output kept in `.cache/logs/` and handed on
//! line by line (see [`super::output`]); never outliving pipit (see
//! [`crate::platform::run_guarded`]).

use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};

use super::output::{OnLine, Reader, Stream};

/// How many lines of stderr a failure shows.
const TAIL_LINES: usize = 20;

/// A command that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandFailure {
    /// The command that failed.
    pub command: String,
    /// Its exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
}

/// Runs `commands` one after another in `dir`; stops at the first failure.
/// `search_path` is the PATH the commands get (the CLI puts pipit's folder
/// first); `on_line` gets every line they print.
pub fn run(
    commands: &[String],
    dir: &Path,
    search_path: &OsStr,
    log: &Path,
    on_line: &OnLine,
) -> std::io::Result<Result<(), CommandFailure>> {
    if let Some(parent) = log.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let err_log = with_suffix(log, ".err");
    let (stdout, stdout_reader) = piped(Stream::Stdout, &with_suffix(log, ".out"), on_line)?;
    let (stderr, stderr_reader) = piped(Stream::Stderr, &err_log, on_line)?;
    // Records the commands add to the runs history; none left from before.
    let records = with_suffix(log, super::stage::RECORDS_SUFFIX);
    crate::cache::remove_path(&records)?;
    let mut failure = None;
    for command in commands {
        let mut child = Command::new("sh");
        child
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .env("PATH", search_path)
            .env(crate::runs::RECORDS_ENV, &records)
            .stdin(Stdio::null())
            .stdout(stdout.try_clone()?)
            .stderr(stderr.try_clone()?);
        let status = crate::platform::run_guarded(&mut child).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start `sh` in `{}`: {e}", dir.display()))
        })?;
        if !status.success() {
            failure = Some((command.clone(), status.code()));
            break;
        }
    }
    // The readers see the end of the streams once no writer is left open.
    drop((stdout, stderr));
    let deadline = super::output::drain_deadline();
    stdout_reader.wait(deadline)?;
    stderr_reader.wait(deadline)?;
    Ok(match failure {
        None => Ok(()),
        Some((command, code)) => {
            Err(CommandFailure { command, code, stderr_tail: tail(&err_log)? })
        }
    })
}

/// Returns the write end of a pipe for the commands, its other end copied to
/// `log` and handed to `on_line` by a reader thread.
fn piped(
    stream: Stream,
    log: &Path,
    on_line: &OnLine,
) -> std::io::Result<(std::io::PipeWriter, Reader)> {
    let file = fs_err::File::create(log)?.into_parts().0;
    let (reader, writer) = std::io::pipe()?;
    Ok((writer, Reader::start(stream, reader, file, std::sync::Arc::clone(on_line))?))
}

/// Returns `path` with `suffix` added to its file name (not replacing an
/// extension: the logs of `s@v1.0` and `s@v1.1` must not collide).
fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Returns the last lines of a log file.
fn tail(path: &Path) -> std::io::Result<Vec<String>> {
    let mut file = fs_err::File::open(path)?;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(16 * 1024)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| (*l).to_owned()).collect())
}
