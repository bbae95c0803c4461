//! Running a stage's commands as a SLURM batch job (`repro --executor
//! slurm`): a script submitted with `sbatch`, followed with one `squeue` for
//! all the jobs in flight and `scontrol show job` for how each ended (no
//! accounting daemon needed), its output written by the job itself to the
//! stage's logs and shown as it comes. The workspace and `.cache` must be on a file system
//! every node sees, as on any SLURM cluster: the job runs in the stage's
//! folder and writes its outs there.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::command::with_suffix;
use super::output::{OnLine, Stream};
use crate::pipeline::Resources;

/// The folder of `.cache` where the jobs' scripts are written.
pub const SCRIPTS: &str = "slurm";

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    /// What SLURM said, in words.
    pub reason: String,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
}

/// A stage's job, as the cluster is asked to run it.
pub struct Job<'a> {
    /// The stage's name (the job is named `pipit:NAME`).
    pub stage: &'a str,
    /// Its commands, run one after another; the first to fail ends the job.
    pub commands: &'a [String],
    /// The folder they run in.
    pub dir: &'a Path,
    /// The PATH they get.
    pub search_path: &'a OsStr,
    /// What it asks of the cluster.
    pub resources: &'a Resources,
    /// Where its output goes: `LOG.out` and `LOG.err`.
    pub log: &'a Path,
    /// Where its script is written; beside it, `SCRIPT.job` holds the id of
    /// the job while it runs (see [`cancel_leftovers`]) and the job writes
    /// its id to `SCRIPT.started` (what shows that it ran where the
    /// repository is).
    pub script: &'a Path,
    /// The file its commands may write run records to.
    pub records: &'a Path,
}

/// Submits `job`, waits for it to end and hands what it printed to
/// `on_line`; the failure when it did not complete.
pub fn run(job: &Job<'_>, on_line: &OnLine) -> std::io::Result<Result<(), JobFailure>> {
    let (out, err) = (with_suffix(job.log, ".out"), with_suffix(job.log, ".err"));
    for file in [&out, &err, &job.records.to_path_buf()] {
        crate::cache::remove_path(file)?;
    }
    if let Some(folder) = job.script.parent() {
        fs_err::create_dir_all(folder)?;
    }
    if let Some(folder) = job.log.parent() {
        fs_err::create_dir_all(folder)?;
    }
    let (running, started) = (with_suffix(job.script, ".job"), with_suffix(job.script, ".started"));
    crate::cache::remove_path(&started)?;
    fs_err::write(job.script, script(job, &started))?;
    let submitted = Command::new("sbatch")
        .arg("--parsable")
        // pipit decides what runs again: never the cluster behind its back.
        .arg("--no-requeue")
        .arg(format!("--job-name=pipit:{}", job.stage))
        .arg("--output")
        .arg(&out)
        .arg("--error")
        .arg(&err)
        .arg("--chdir")
        .arg(job.dir)
        .args(resource_flags(job.resources))
        .arg(job.script)
        .output()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run `sbatch`: {e}")))?;
    if !submitted.status.success() {
        let said = String::from_utf8_lossy(&submitted.stderr).trim().to_owned();
        return Ok(Err(JobFailure {
            reason: format!("`sbatch` refused the job: {said}"),
            stderr_tail: Vec::new(),
        }));
    }
    // `ID` or `ID;CLUSTER`.
    let printed = String::from_utf8_lossy(&submitted.stdout);
    let id = printed.trim().split(';').next().unwrap_or_default().to_owned();
    if !is_job_id(&id) {
        return Err(std::io::Error::other(format!("`sbatch` printed no job id: `{printed}`")));
    }
    // Cancelled if pipit ends before the job does (Ctrl-C, kill -9), else
    // by the next run (see `cancel_leftovers`).
    let _guarded = crate::platform::guard_job(&id);
    if let Err(error) = fs_err::write(&running, &id) {
        cancel(&id);
        return Err(error);
    }
    // What the job prints is shown as it reaches its logs.
    let mut printed = [Follow::new(&out, Stream::Stdout), Follow::new(&err, Stream::Stderr)];
    let ended = wait_for(&id, &mut || printed.iter_mut().for_each(|f| f.lines(on_line, false)));
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => {
            // Not followed any more: not left running either.
            cancel(&id);
            let _ = crate::cache::remove_path(&running);
            return Err(error);
        }
    };
    crate::cache::remove_path(&running)?;
    printed.iter_mut().for_each(|follow| follow.lines(on_line, true));
    let ran_here = fs_err::read_to_string(&started).is_ok_and(|text| text.trim() == id);
    if ended.state == "COMPLETED" && ran_here {
        return Ok(Ok(()));
    }
    if ended.state == "COMPLETED" {
        return Ok(Err(JobFailure {
            reason: format!(
                "SLURM job {id} completed, but what it wrote is not here: the repository must be \
                 on a file system every node sees, at the same path"
            ),
            stderr_tail: Vec::new(),
        }));
    }
    let reason = match ended.state.as_str() {
        "FAILED" => match ended.exit_code {
            Some((code, 0)) => format!("SLURM job {id} failed: exit code {code}"),
            Some((_, signal)) => format!("SLURM job {id} failed: killed by signal {signal}"),
            None => format!("SLURM job {id} failed"),
        },
        "TIMEOUT" => format!("SLURM job {id} ran past its time limit (TIMEOUT)"),
        "OUT_OF_MEMORY" => format!("SLURM job {id} ran out of memory (OUT_OF_MEMORY)"),
        "CANCELLED" => format!("SLURM job {id} was cancelled (CANCELLED)"),
        other => format!("SLURM job {id} ended {other}"),
    };
    let stderr_tail = super::command::tail(&err).unwrap_or_default();
    Ok(Err(JobFailure { reason, stderr_tail }))
}

/// The job's script: in the stage's folder, with the stage's PATH, after the
/// job's id is written to `started`, each command in a shell of its own (as
/// here) until one fails.
fn script(job: &Job<'_>, started: &Path) -> String {
    let mut text = String::from("#!/bin/sh\nset -e\n");
    text.push_str(&format!("echo \"$SLURM_JOB_ID\" > {}\n", quote(&started.to_string_lossy())));
    text.push_str(&format!("cd {}\n", quote(&job.dir.to_string_lossy())));
    text.push_str(&format!("PATH={}\nexport PATH\n", quote(&job.search_path.to_string_lossy())));
    let records = quote(&job.records.to_string_lossy());
    text.push_str(&format!(
        "{}={records}\nexport {}\n",
        crate::runs::RECORDS_ENV,
        crate::runs::RECORDS_ENV
    ));
    // Each command in a shell of its own, as here: the first to fail ends
    // the job with its exit code.
    for command in job.commands {
        text.push_str(&format!("sh -c {} || exit $?\n", quote(command)));
    }
    text
}

/// `text` in single quotes, as `sh` reads it back.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What `sbatch` is asked for: the stage's resources.
fn resource_flags(resources: &Resources) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(cpus) = resources.cpus {
        flags.push(format!("--cpus-per-task={cpus}"));
    }
    if let Some(mib) = resources.mem_mib {
        flags.push(format!("--mem={mib}M"));
    }
    if let Some(seconds) = resources.time_seconds {
        // SLURM counts whole minutes: rounded up.
        let minutes = seconds.div_ceil(60);
        flags.push(format!(
            "--time={}-{:02}:{:02}:00",
            minutes / 1440,
            minutes / 60 % 24,
            minutes % 60
        ));
    }
    if let Some(gpus) = resources.gpus {
        flags.push(format!("--gpus={gpus}"));
    }
    if let Some(partition) = &resources.partition {
        flags.push(format!("--partition={partition}"));
    }
    flags
}

/// How a job ended.
struct Ended {
    state: String,
    /// Its exit code and the signal that ended it.
    exit_code: Option<(i32, i32)>,
}

/// Cancels the jobs an earlier run left running (it was killed with its
/// guard): their ids are in `folder/*.job`. A stage never runs twice at once.
pub fn cancel_leftovers(folder: &Path) {
    let Ok(entries) = fs_err::read_dir(folder) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "job") {
            continue;
        }
        if let Ok(id) = fs_err::read_to_string(&path)
            && is_job_id(id.trim())
        {
            cancel(id.trim());
        }
        let _ = fs_err::remove_file(&path);
    }
}

/// Cancels job `id`, as far as `scancel` can (a job that ended is left be).
fn cancel(id: &str) {
    let _ = Command::new("scancel").arg(id).output();
}

/// Returns true when `text` is a job id as `sbatch` prints it.
fn is_job_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The states a job does not leave.
const FINAL_STATES: &[&str] = &[
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
];

/// The jobs pipit waits for, each as last seen: one `squeue` every [`POLL`]
/// for all of them, by whichever waiting worker's turn it is.
struct Watching {
    jobs: BTreeMap<String, Seen>,
    /// A worker is asking `squeue`: the others wait for what it finds.
    polling: bool,
    /// How many times in a row `squeue` failed, and how the last time.
    failures: (u32, String),
}

/// One job as `squeue` last showed it.
#[derive(Default)]
struct Seen {
    state: String,
    /// How many polls in a row did not list it.
    missed: u32,
}

static WATCHING: Mutex<Watching> =
    Mutex::new(Watching { jobs: BTreeMap::new(), polling: false, failures: (0, String::new()) });
static SEEN: Condvar = Condvar::new();

/// How often the cluster is asked about the jobs in flight.
const POLL: Duration = Duration::from_millis(100);

/// How many polls in a row may go wrong (a controller busy for a while)
/// before the jobs are given up, or may not list a job before it is asked
/// of `scontrol`.
const PATIENCE: u32 = 50;

/// Waits until job `id` ends, and says how; `meanwhile` is called after
/// each time the cluster was asked.
fn wait_for(id: &str, meanwhile: &mut dyn FnMut()) -> std::io::Result<Ended> {
    let lock = || WATCHING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    {
        let mut watching = lock();
        watching.jobs.insert(id.to_owned(), Seen::default());
        // A new job gives the controller another chance.
        watching.failures.0 = 0;
    }
    loop {
        let mut watching = lock();
        let seen = watching.jobs.get(id).map(|s| (s.state.clone(), s.missed)).unwrap_or_default();
        let given_up = watching.failures.0 > PATIENCE;
        if FINAL_STATES.contains(&seen.0.as_str()) || seen.1 > PATIENCE || given_up {
            watching.jobs.remove(id);
            if given_up {
                let said = watching.failures.1.clone();
                return Err(std::io::Error::other(format!("`squeue` keeps failing: {said}")));
            }
            drop(watching);
            return ended(id);
        }
        if watching.polling {
            let waited = SEEN.wait_timeout(watching, POLL * 10);
            drop(waited.unwrap_or_else(std::sync::PoisonError::into_inner));
        } else {
            watching.polling = true;
            drop(watching);
            std::thread::sleep(POLL);
            let listed = jobs_in_queue();
            let mut watching = lock();
            watching.polling = false;
            match listed {
                Ok(listed) => {
                    watching.failures.0 = 0;
                    for (job, seen) in &mut watching.jobs {
                        match listed.get(job) {
                            Some(state) => *seen = Seen { state: state.clone(), missed: 0 },
                            None => seen.missed += 1,
                        }
                    }
                }
                Err(error) => watching.failures = (watching.failures.0 + 1, error.to_string()),
            }
            SEEN.notify_all();
        }
        meanwhile();
    }
}

/// The state of each of this user's jobs the controller knows (`squeue`).
fn jobs_in_queue() -> std::io::Result<BTreeMap<String, String>> {
    let listed = Command::new("squeue")
        .args(["--noheader", "--me", "--states=all", "--format=%i %T"])
        .output()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run `squeue`: {e}")))?;
    if !listed.status.success() {
        let said = String::from_utf8_lossy(&listed.stderr).trim().to_owned();
        return Err(std::io::Error::other(format!("`squeue` failed: {said}")));
    }
    Ok(String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| {
            let (id, state) = line.trim().split_once(' ')?;
            Some((id.to_owned(), state.trim().to_owned()))
        })
        .collect())
}

/// A job's log, read as it grows: each whole line handed on once.
struct Follow {
    path: PathBuf,
    stream: Stream,
    read: u64,
    partial: Vec<u8>,
}

impl Follow {
    fn new(path: &Path, stream: Stream) -> Self {
        Self { path: path.to_path_buf(), stream, read: 0, partial: Vec::new() }
    }

    /// Hands `on_line` the lines written since; with `last`, the unfinished
    /// one too.
    fn lines(&mut self, on_line: &OnLine, last: bool) {
        use std::io::{Read, Seek, SeekFrom};
        if let Ok(mut file) = fs_err::File::open(&self.path)
            && file.seek(SeekFrom::Start(self.read)).is_ok()
        {
            let mut bytes = Vec::new();
            if let Ok(count) = file.read_to_end(&mut bytes) {
                self.read += count as u64;
                self.partial.extend_from_slice(&bytes);
            }
        }
        let whole = match last {
            true => self.partial.len(),
            false => self.partial.iter().rposition(|&b| b == b'\n').map_or(0, |end| end + 1),
        };
        let text: Vec<u8> = self.partial.drain(..whole).collect();
        for line in String::from_utf8_lossy(&text).lines() {
            on_line(self.stream, line);
        }
    }
}

/// How job `id` ended, with its exit code (`scontrol show job`).
fn ended(id: &str) -> std::io::Result<Ended> {
    let shown = Command::new("scontrol")
        .args(["show", "job", "-o", id])
        .output()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run `scontrol`: {e}")))?;
    let text = String::from_utf8_lossy(&shown.stdout);
    if !shown.status.success() {
        let said = String::from_utf8_lossy(&shown.stderr).trim().to_owned();
        return Err(std::io::Error::other(format!("`scontrol show job {id}` failed: {said}")));
    }
    parse_job(&text).ok_or_else(|| {
        std::io::Error::other(format!("`scontrol show job {id}` said no state: `{text}`"))
    })
}

/// Reads `JobState=` and `ExitCode=CODE:SIGNAL` from a line of `scontrol
/// show job -o`.
fn parse_job(line: &str) -> Option<Ended> {
    let field = |name: &str| {
        line.split_whitespace().find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
    };
    let state = field("JobState")?.to_owned();
    let exit_code = field("ExitCode").and_then(|code| {
        let (code, signal) = code.split_once(':')?;
        Some((code.parse().ok()?, signal.parse().ok()?))
    });
    Some(Ended { state, exit_code })
}

#[cfg(test)]
mod tests {
    use super::{parse_job, quote, resource_flags};
    use crate::pipeline::Resources;

    #[test]
    fn a_job_line_gives_its_state_and_exit_code() {
        let line = "JobId=12 JobName=pipit:a UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=00:00:01";
        let ended = parse_job(line).unwrap();
        assert_eq!((ended.state.as_str(), ended.exit_code), ("FAILED", Some((3, 0))));
        assert!(parse_job("slurm_load_jobs error: Invalid job id specified").is_none());
    }

    #[test]
    fn resources_become_sbatch_flags_and_quotes_survive() {
        let resources = Resources {
            cpus: Some(4),
            mem_mib: Some(8192),
            time_seconds: Some(90 * 60 + 1),
            gpus: Some(1),
            partition: Some("gpu".into()),
            local: false,
        };
        assert_eq!(
            resource_flags(&resources),
            [
                "--cpus-per-task=4",
                "--mem=8192M",
                "--time=0-01:31:00",
                "--gpus=1",
                "--partition=gpu"
            ]
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
