//! What differs between operating systems, in one place: file modes, file
//! identity, and keeping a stage's processes from outliving pipit.
//!
//! Linux asks the kernel for a parent-death signal; macOS and the BSDs run a
//! watcher beside the stage that kills its process group when pipit is gone;
//! Windows puts the stage in a job object that closes with pipit.

use std::path::Path;
use std::process::{Command, ExitStatus};

/// Keeps memory that was freed for the next allocation instead of giving it
/// back to the system at once (glibc's default returns the top 128 KiB and
/// more): an out's files are read into buffers on one thread and freed on
/// another once stored, stage after stage, and each page given back was
/// faulted in again, zeroed, for the next stage's out. Up to 64 MiB free
/// stays with each of the allocator's arenas; blocks of 32 MiB and more are
/// mapped and unmapped on their own, as before.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; called first thing
    // in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// Starts the thread pool that hashes and stores files (rayon's) with each
/// thread kept on a core of its own, one thread per core this process may
/// use (Linux; elsewhere, and with one core, rayon's defaults stay).
///
/// pipit's parallel work comes in bursts under a millisecond: the hundred
/// files a stage wrote, hashed while the next stage waits for them. The
/// scheduler wakes a pool's threads near the thread that woke them, and a
/// virtual machine's kernel that packs work onto few vCPUs left both
/// threads taking turns on one core while the other idled (perf sched, a
/// 2-vCPU VM). Each kept on its own core, a burst is spread; work stealing
/// still moves work off a core that something else keeps busy.
pub fn spread_pool_threads() {
    // Already started (a second call): it stays as it is.
    spread(|pool| pool.build_global().ok());
}

/// Builds rayon's pool with `build` (given one thread per core this process
/// may use; it returns once they all started), then keeps each thread on a
/// core of its own: moved there once started, not started there, which
/// would wait for an idle vCPU to wake (up to a millisecond here). `None`
/// where rayon's defaults stay, or `build` built nothing.
fn spread<P>(build: impl FnOnce(rayon::ThreadPoolBuilder) -> Option<P>) -> Option<P> {
    #[cfg(target_os = "linux")]
    {
        use std::sync::{Arc, Mutex};
        let cpus = allowed_cpus()?;
        // Fewer under a CPU quota (a container's), which this counts.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(cpus.len());
        if threads < 2 {
            return None;
        }
        let started: Arc<Mutex<Vec<(usize, libc::pid_t)>>> = Arc::default();
        let record = Arc::clone(&started);
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(threads).start_handler(move |index| {
                // SAFETY: gettid has no preconditions.
                let thread = unsafe { libc::gettid() };
                record
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((index, thread));
            });
        let pool = build(pool)?;
        for &(index, thread) in
            started.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter()
        {
            keep_on_cpu(thread, cpus[index]);
        }
        Some(pool)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = build;
        None
    }
}

/// The CPUs this process may run on.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is an empty set, filled in by the call.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size given.
    let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if got != 0 {
        return None;
    }
    let size = 8 * std::mem::size_of_val(&set);
    // SAFETY: every index is below the set's size.
    Some((0..size).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) }).collect())
}

/// Keeps the thread `thread` (its ID) on `cpu`; left where it is if it
/// cannot be.
#[cfg(target_os = "linux")]
fn keep_on_cpu(thread: libc::pid_t, cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` came from the process's own set, below its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given.
    let _ = unsafe { libc::sched_setaffinity(thread, std::mem::size_of_val(&set), &set) };
}

/// Sets a file's permissions to `mode` (on Windows: read-only unless the
/// owner may write).
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(mode)
    };
    #[cfg(not(unix))]
    let permissions = {
        let mut permissions = fs_err::metadata(path)?.permissions();
        permissions.set_readonly(mode & 0o200 == 0);
        permissions
    };
    fs_err::set_permissions(path, permissions)
}

/// Creates the new file `path` holding `bytes`, with the permissions `mode`
/// less the umask (on Windows: read-only unless the owner may write). Fails
/// when something is already at `path`.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        let mut file =
            fs_err::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
        file.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        fs_err::OpenOptions::new().write(true).create_new(true).open(path)?.write_all(bytes)?;
        set_mode(path, mode)
    }
}

/// Creates the new file `target` holding `bytes`, with the permissions
/// `mode` less the umask, without a name until it is whole: an unnamed file
/// in `folder` (Linux's `O_TMPFILE`), written, then linked at `target`. A
/// process killed meanwhile leaves nothing behind, and there is no
/// temporary name to make and rename. `Ok(false)` when something is at
/// `target` already; `None` where the kernel or the file system makes or
/// links no unnamed files (learnt once: the caller writes a temporary file
/// instead).
pub fn write_linked(
    folder: &Path,
    target: &Path,
    bytes: &[u8],
    mode: u32,
) -> Option<std::io::Result<bool>> {
    #[cfg(target_os = "linux")]
    {
        use std::io::Write;
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        /// Unnamed files could not be made or linked here: not tried again.
        static UNSUPPORTED: AtomicBool = AtomicBool::new(false);
        if UNSUPPORTED.load(Relaxed) {
            return None;
        }
        let (dir, to) = (c_path(folder).ok()?, c_path(target).ok()?);
        let failed = |error: std::io::Error| {
            Some(Err(std::io::Error::new(
                error.kind(),
                format!("failed to write the object `{}`: {error}", target.display()),
            )))
        };
        // SAFETY: a valid NUL-terminated path; the descriptor returned is
        // owned by the `File` made from it below.
        let fd = unsafe {
            libc::open(dir.as_ptr(), libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC, mode)
        };
        if fd < 0 {
            let error = std::io::Error::last_os_error();
            if matches!(error.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL))
            {
                UNSUPPORTED.store(true, Relaxed);
            }
            // Anything else, the temporary file meets too, and names.
            return None;
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        if let Err(error) = file.write_all(bytes) {
            return failed(error);
        }
        // Linked by descriptor (a capability before Linux 6.10), else by
        // the descriptor's name under /proc.
        // SAFETY: `file` is open, `to` a valid NUL-terminated path.
        let mut linked = unsafe {
            libc::linkat(
                file.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        if linked != 0
            && matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::ENOENT | libc::EPERM | libc::EINVAL)
            )
        {
            let proc = c_path(Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd()))).ok()?;
            // SAFETY: both are valid NUL-terminated paths that outlive the call.
            linked = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    proc.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
        }
        if linked == 0 {
            return Some(Ok(true));
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EEXIST) => Some(Ok(false)),
            Some(libc::ENOSPC | libc::EDQUOT | libc::EIO | libc::EROFS | libc::EMLINK) => {
                failed(error)
            }
            // Neither way links here (no /proc, a file system that refuses).
            _ => {
                UNSUPPORTED.store(true, Relaxed);
                None
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (folder, target, bytes, mode);
        None
    }
}

/// Renames `from` to `to` unless something is at `to` already: `Ok(false)`
/// then, and `from` is left. Atomic where the kernel offers it (Linux's
/// `renameat2`), else checked just before renaming.
pub fn rename_new(from: &Path, to: &Path) -> std::io::Result<bool> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let (old, new) = (c_path(from)?, c_path(to)?);
        // SAFETY: both are valid NUL-terminated paths that outlive the call.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                old.as_ptr(),
                libc::AT_FDCWD,
                new.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if done == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EEXIST) => return Ok(false),
            // A file system without the flag: checked below instead.
            Some(libc::EINVAL | libc::ENOSYS) => {}
            _ => return Err(error),
        }
    }
    if fs_err::symlink_metadata(to).is_ok() {
        return Ok(false);
    }
    fs_err::rename(from, to).map(|()| true)
}

/// `path` as the C string a system call takes.
#[cfg(unix)]
fn c_path(path: &Path) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::CString::new(path.as_os_str().as_bytes())?)
}

/// Whether this process may execute the file at `path` (never on Windows).
pub fn may_execute(path: &Path) -> bool {
    #[cfg(unix)]
    {
        let Ok(path) = c_path(path) else {
            return false;
        };
        // SAFETY: a valid NUL-terminated path that outlives the call.
        unsafe { libc::access(path.as_ptr(), libc::X_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Returns whether the file's owner may execute it (never on Windows).
pub fn is_executable(metadata: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o100 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        false
    }
}

/// Returns the inode number (0 where there is none to read): with size and
/// mtime, what tells the stat cache that a file was replaced.
pub fn inode(metadata: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(metadata)
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        0
    }
}

/// Returns true when both paths are the same file (hard links of each other).
pub fn same_file(a: &Path, b: &Path) -> bool {
    same_file::is_same_file(a, b).unwrap_or(false)
}

/// Runs a stage's command to its end, making sure that it does not outlive
/// pipit (kill -9 included). `command` is dropped once its process started,
/// and `started` called: the files it was given (the write ends of the
/// pipes its output is read from) are then the process's alone, and reach
/// their end as it exits.
pub fn run_guarded(command: Command, started: impl FnOnce()) -> std::io::Result<ExitStatus> {
    guard::run(command, started)
}

/// Starts `command`'s process, then drops `command` and calls `started` (see
/// [`run_guarded`]).
fn start(mut command: Command, started: impl FnOnce()) -> std::io::Result<std::process::Child> {
    let child = command.spawn()?;
    drop(command);
    started();
    Ok(child)
}

/// Starts what keeps the stages' processes from outliving pipit (see
/// [`run_guarded`]), if it is not yet: on another thread while the run
/// prepares, the first stage does not wait for it to start.
pub fn prepare_guard() {
    #[cfg(target_os = "linux")]
    guard::guard();
}

/// A SLURM job in the guard's care until dropped (see [`guard_job`]).
pub struct JobGuard {
    #[cfg(target_os = "linux")]
    _job: guard::GuardedJob,
}

/// Cancels SLURM job `id` (`scancel`) if pipit ends, `kill -9` included,
/// before the returned guard is dropped (Linux; elsewhere nothing does).
pub fn guard_job(id: &str) -> Option<JobGuard> {
    #[cfg(target_os = "linux")]
    {
        guard::job(id).map(|job| JobGuard { _job: job })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = id;
        None
    }
}

#[cfg(target_os = "linux")]
mod guard {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::{ChildStdin, Command, ExitStatus, Stdio};
    use std::sync::{Mutex, OnceLock};

    /// What the guard runs: it keeps the stages' process IDs it is told
    /// (`+ PID` when one starts, `- PID` when it ended) and their SLURM jobs
    /// (`+job ID`, `-job ID`), and once its input ends (pipit is gone,
    /// `kill -9` included) kills those processes and cancels those jobs
    /// still listed. The signals a terminal or a CI runner sends the whole
    /// group (Ctrl-C…) do not stop it: it outlives pipit by that much.
    const WATCH: &str = r#"trap '' INT HUP TERM QUIT
pids=' '
jobs=' '
while read -r op id; do
    case $op in
        +) pids="$pids$id " ;;
        -) case $pids in *" $id "*) pids="${pids%% $id *} ${pids#* $id }" ;; esac ;;
        +job) jobs="$jobs$id " ;;
        -job) case $jobs in *" $id "*) jobs="${jobs%% $id *} ${jobs#* $id }" ;; esac ;;
    esac
done
[ -n "${pids# }" ] && kill -KILL $pids 2>/dev/null
[ -n "${jobs# }" ] && scancel $jobs 2>/dev/null
exit 0"#;

    /// The guard's input, once it is started; `None` when it could not be.
    static GUARD: OnceLock<Option<Mutex<ChildStdin>>> = OnceLock::new();

    pub(super) fn guard() -> Option<&'static Mutex<ChildStdin>> {
        GUARD
            .get_or_init(|| {
                let mut guard = Command::new("sh")
                    .args(["-c", WATCH])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()?;
                guard.stdin.take().map(Mutex::new)
            })
            .as_ref()
    }

    fn tell(guard: &Mutex<ChildStdin>, line: &str) -> std::io::Result<()> {
        let mut input = guard.lock().map_err(|_| std::io::Error::other("the guard is poisoned"))?;
        input.write_all(line.as_bytes())
    }

    /// A SLURM job the guard cancels if pipit ends before it is dropped.
    pub struct GuardedJob(String);

    impl Drop for GuardedJob {
        fn drop(&mut self) {
            if let Some(guard) = guard() {
                let _ = tell(guard, &format!("-job {}\n", self.0));
            }
        }
    }

    /// Puts job `id` in the guard's care: `None` when there is no guard.
    pub fn job(id: &str) -> Option<GuardedJob> {
        let guard = guard()?;
        tell(guard, &format!("+job {id}\n")).ok()?;
        Some(GuardedJob(id.to_owned()))
    }

    /// A stage is started as a plain spawn (no copy of pipit's memory, which
    /// a hook run before `exec` would need) and named to the guard, one `sh`
    /// for the whole run. Without a guard, the kernel's parent-death signal
    /// does the same, from such a hook.
    pub fn run(mut command: Command, started: impl FnOnce()) -> std::io::Result<ExitStatus> {
        let Some(guard) = guard() else {
            // SAFETY: prctl is async-signal-safe; it only asks the kernel to
            // kill the child when its parent (pipit) dies.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            return super::start(command, started)?.wait();
        };
        let mut child = super::start(command, started)?;
        let pid = child.id();
        if tell(guard, &format!("+ {pid}\n")).is_err() {
            // No one would kill it if pipit died: it does not run unguarded.
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("the process guarding the stages is gone"));
        }
        // Waited for without reaping it: until the guard is told, the
        // process that ended keeps its PID, which no other can take.
        let ended = wait_unreaped(pid);
        let _ = tell(guard, &format!("- {pid}\n"));
        ended?;
        child.wait()
    }

    /// Waits until the child `pid` ends, leaving it to be reaped.
    fn wait_unreaped(pid: u32) -> std::io::Result<()> {
        loop {
            // SAFETY: a zeroed siginfo_t is valid for waitid to fill in.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waits on our own child; `info` outlives the call.
            let waited =
                unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
            if waited == 0 {
                return Ok(());
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod guard {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, ExitStatus, Stdio};

    /// The stage gets a process group of its own; a small shell loop kills
    /// that group within a second of pipit dying (there is no parent-death
    /// signal here).
    pub fn run(mut command: Command, started: impl FnOnce()) -> std::io::Result<ExitStatus> {
        command.process_group(0);
        let mut stage = super::start(command, started)?;
        let watcher = Command::new("sh")
            .arg("-c")
            .arg(
                r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -KILL -"$2" 2>/dev/null"#,
            )
            .arg("pipit-watcher")
            .arg(std::process::id().to_string())
            .arg(stage.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let status = stage.wait();
        if let Ok(mut watcher) = watcher {
            let _ = watcher.kill();
            let _ = watcher.wait();
        }
        status
    }
}

#[cfg(windows)]
mod guard {
    use std::os::windows::io::AsRawHandle;
    use std::process::{Command, ExitStatus};

    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
        SetInformationJobObject,
    };

    /// The stage runs in a job object that kills its processes when its last
    /// handle closes: pipit holds the only one, so pipit's end is theirs.
    pub fn run(command: Command, started: impl FnOnce()) -> std::io::Result<ExitStatus> {
        let mut stage = super::start(command, started)?;
        // SAFETY: plain Win32 calls on handles this function owns; the job's
        // handle is closed once the stage is done, or by Windows with pipit.
        let job = unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if !job.is_null() {
                let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
                limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
                SetInformationJobObject(
                    job,
                    JobObjectExtendedLimitInformation,
                    (&raw const limits).cast(),
                    std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                );
                AssignProcessToJobObject(job, stage.as_raw_handle());
            }
            job
        };
        let status = stage.wait();
        if !job.is_null() {
            // SAFETY: `job` is a handle this function opened and closes once.
            unsafe { CloseHandle(job) };
        }
        status
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn each_thread_of_the_spread_pool_is_kept_on_a_core_of_its_own() {
        let built = super::spread(|pool| {
            let pool = pool.build().ok()?;
            // Every thread started, as `build_global` waits for.
            pool.broadcast(|_| ());
            Some(pool)
        });
        let Some(pool) = built else {
            // One core: rayon's defaults stay.
            return;
        };
        let mut kept: Vec<Vec<usize>> = pool.broadcast(|_| super::allowed_cpus().unwrap());
        assert_eq!(kept.len(), pool.current_num_threads());
        assert!(kept.iter().all(|cpus| cpus.len() == 1), "{kept:?}");
        kept.sort();
        kept.dedup();
        assert_eq!(kept.len(), pool.current_num_threads(), "distinct cores: {kept:?}");
        let allowed = super::allowed_cpus().unwrap();
        assert!(kept.iter().all(|cpus| allowed.contains(&cpus[0])), "{kept:?} of {allowed:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_linked_file_appears_whole_with_its_mode_and_never_over_another() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("object");
        let Some(linked) = super::write_linked(dir.path(), &target, b"bytes", 0o444) else {
            // A file system without unnamed files (the caller falls back).
            return;
        };
        assert!(linked.unwrap());
        assert_eq!(fs_err::read(&target).unwrap(), b"bytes");
        let mode = fs_err::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o222, 0, "read-only: {mode:o}");
        let again = super::write_linked(dir.path(), &target, b"other", 0o444).unwrap();
        assert!(!again.unwrap(), "something is there already");
        assert_eq!(fs_err::read(&target).unwrap(), b"bytes");
        let names: Vec<_> = fs_err::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing else is left in the folder");
    }
}
