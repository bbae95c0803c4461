//! Running a stage's commands: `sh -c` in its working directory, with the pipit
//! binary's folder first on PATH, output kept in `.cache/logs/` and handed on
//! line by line (see [`super::output`]); never outliving pipit (see
//! [`crate::platform::run_guarded`]). A command that is one plain program
//! with plain arguments (nothing a shell would interpret) is started
//! directly, as `sh -c` would end up doing, without the shell in between.

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
    let (stdout, unread_stdout) = piped(Stream::Stdout, &with_suffix(log, ".out"))?;
    let (stderr, unread_stderr) = piped(Stream::Stderr, &err_log)?;
    // Read once the first command started, not before: its start waits for
    // no thread to be made (a pipe holds 64 KiB before one must read it).
    let mut unread = vec![unread_stdout, unread_stderr];
    let mut readers = Vec::with_capacity(unread.len());
    let mut read = |readers: &mut Vec<Reader>| -> std::io::Result<()> {
        for (stream, pipe, file) in unread.drain(..) {
            readers.push(Reader::start(stream, pipe, file, std::sync::Arc::clone(on_line))?);
        }
        Ok(())
    };
    let mut unreadable = None;
    // Records the commands add to the runs history; none left from before.
    let records = with_suffix(log, super::stage::RECORDS_SUFFIX);
    crate::cache::remove_path(&records)?;
    let mut failure = None;
    // pipit's own write ends of the pipes, until the last command started:
    // once it exits, nothing else holds them, and the readers see their
    // end while pipit learns of the exit (not only once it closed them).
    let mut ends = Some((stdout, stderr));
    for (position, command) in commands.iter().enumerate() {
        let last = position + 1 == commands.len();
        let mut start = |program: &str, args: &[&str]| -> std::io::Result<_> {
            let Some((stdout, stderr)) = &ends else {
                return Err(std::io::Error::other("the output pipes are closed"));
            };
            let (stdout, stderr) = (stdout.try_clone()?, stderr.try_clone()?);
            let mut child = Command::new(find_program(program, search_path));
            // The program sees the name it was given, as under a shell.
            #[cfg(unix)]
            std::os::unix::process::CommandExt::arg0(&mut child, program);
            child
                .args(args)
                .current_dir(dir)
                // As a shell would set it (a program started directly
                // would otherwise see pipit's own).
                .env("PWD", dir)
                .env("PATH", search_path)
                .env(crate::runs::RECORDS_ENV, &records)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr);
            crate::platform::run_guarded(child, || {
                if last {
                    ends = None;
                }
                if let Err(error) = read(&mut readers) {
                    unreadable = Some(error);
                }
            })
        };
        let direct = match plain_words(command).as_deref() {
            // Not found: the shell says so, as it would have.
            Some([program, args @ ..]) => match start(program, args) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                started => Some(started),
            },
            _ => None,
        };
        let status = direct.unwrap_or_else(|| start("sh", &["-c", command])).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start `sh` in `{}`: {e}", dir.display()))
        })?;
        if let Some(error) = unreadable.take() {
            return Err(error);
        }
        if !status.success() {
            failure = Some((command.clone(), status.code()));
            break;
        }
    }
    // The readers see the end of the streams once no writer is left open.
    drop(ends);
    read(&mut readers)?;
    let deadline = super::output::drain_deadline();
    for reader in readers {
        reader.wait(deadline)?;
    }
    Ok(match failure {
        None => Ok(()),
        Some((command, code)) => {
            Err(CommandFailure { command, code, stderr_tail: tail(&err_log)? })
        }
    })
}

/// Where `program` is on `search_path`, as a shell would look for it: the
/// first executable file of that name in one of its folders. A name with a
/// `/` is a path already. A name found nowhere, or not before a relative
/// folder (which means the stage's folder, not pipit's), is left for the new
/// process to look for, and to report as not found. Given a path, the
/// process is started without a copy of pipit's memory (a `PATH` of its own
/// would otherwise need one, to be searched in the new process).
fn find_program(program: &str, search_path: &OsStr) -> std::path::PathBuf {
    if program.contains('/') {
        return program.into();
    }
    for folder in std::env::split_paths(search_path) {
        if !folder.is_absolute() {
            break;
        }
        let path = folder.join(program);
        if path.is_file() && crate::platform::may_execute(&path) {
            return path;
        }
    }
    program.into()
}

/// Words a shell gives a meaning of its own when they start a command.
const SHELL_WORDS: &[&str] = &[
    "!", "{", "}", "[", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue",
    "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc",
    "fg", "fi", "for", "getopts", "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd",
    "read", "readonly", "return", "set", "shift", "source", "test", "then", "times", "trap",
    "true", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// The words of `command` when it is one program with arguments that a shell
/// would pass on as they are: no quotes, variables, globs, redirections,
/// operators, comments, assignments or builtins.
fn plain_words(command: &str) -> Option<Vec<&str>> {
    let plain = |c: char| c.is_ascii_alphanumeric() || " \t-_./,:+=@%".contains(c);
    if !command.chars().all(plain) {
        return None;
    }
    let words: Vec<&str> = command.split_ascii_whitespace().collect();
    let program = *words.first()?;
    (!program.contains('=') && !SHELL_WORDS.contains(&program)).then_some(words)
}

/// Returns the write end of a pipe for the commands, and what a [`Reader`]
/// needs to copy its other end to `log` (created now).
fn piped(
    stream: Stream,
    log: &Path,
) -> std::io::Result<(std::io::PipeWriter, (Stream, std::io::PipeReader, std::fs::File))> {
    let file = fs_err::File::create(log)?.into_parts().0;
    let (reader, writer) = std::io::pipe()?;
    Ok((writer, (stream, reader, file)))
}

/// Returns `path` with `suffix` added to its file name (not replacing an
/// extension: the logs of `s@v1.0` and `s@v1.1` must not collide).
pub(super) fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Returns the last lines of a log file.
pub(super) fn tail(path: &Path) -> std::io::Result<Vec<String>> {
    let mut file = fs_err::File::open(path)?;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(16 * 1024)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| (*l).to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::{find_program, plain_words};

    #[cfg(unix)]
    #[test]
    fn a_program_is_found_as_a_shell_finds_it_or_left_to_the_new_process() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("first"), dir.path().join("second"));
        for folder in [&first, &second] {
            fs_err::create_dir_all(folder).unwrap();
        }
        // Not executable in the first folder: the second one's is taken.
        fs_err::write(first.join("tool"), "").unwrap();
        fs_err::write(second.join("tool"), "").unwrap();
        let executable = std::fs::Permissions::from_mode(0o755);
        fs_err::set_permissions(second.join("tool"), executable).unwrap();
        let path = std::env::join_paths([&first, &second]).unwrap();
        assert_eq!(find_program("tool", &path), second.join("tool"));
        assert_eq!(find_program("bin/tool", &path), std::path::PathBuf::from("bin/tool"));
        assert_eq!(find_program("missing", &path), std::path::PathBuf::from("missing"));
        // A relative folder first is the stage's folder: the new process looks.
        let relative = std::env::join_paths([std::path::Path::new("bin"), &second]).unwrap();
        assert_eq!(find_program("tool", &relative), std::path::PathBuf::from("tool"));
    }

    #[test]
    fn only_a_plain_program_with_plain_arguments_skips_the_shell() {
        assert_eq!(
            plain_words("python train.py --lr=0.1 data/in.csv"),
            Some(vec!["python", "train.py", "--lr=0.1", "data/in.csv"])
        );
        assert_eq!(plain_words("  sh step.sh s1\ts2  "), Some(vec!["sh", "step.sh", "s1", "s2"]));
        for shell in [
            "cat a > b",
            "a && b",
            "echo hi",
            "cd sub",
            "LR=1 python x.py",
            "python 'a b'",
            "ls *.csv",
            "echo $HOME",
            "run # comment",
            "a\nb",
            "cp ~/x .",
            "",
        ] {
            assert_eq!(plain_words(shell), None, "{shell:?}");
        }
    }
}
