//! A second thread for one boosting fit, which takes half of a large node's
//! work. Between two jobs it spins a short while before it sleeps, as
//! OpenMP's threads (LightGBM's) wait: a rayon worker that fell asleep
//! between two nodes takes longer to wake, on a virtual machine, than the
//! half it would take over. And a job the helper has not started when the
//! fitting thread is done with its own half is taken back and run there, as
//! rayon's `join` does: when other processes have the cores (`repro`
//! running stages side by side), a fit is never slower than without it.

use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::Thread;

/// No job, the helper spinning.
const IDLE: u8 = 0;
/// No job, the helper parked.
const ASLEEP: u8 = 1;
/// A job waiting for the helper.
const READY: u8 = 2;
/// The helper runs the job.
const RUNNING: u8 = 3;
/// The job has returned.
const DONE: u8 = 4;
/// The job has panicked.
const PANICKED: u8 = 5;
/// The fit is over.
const QUIT: u8 = 6;

/// How many times the helper checks for a job before it parks (some tens
/// of microseconds: a node's work, not a time slice of another process's).
const SPINS: u32 = 1 << 14;

/// A job: a closure on the stack of the thread that handed it over, its
/// lifetime erased (see [`Helper::both`]).
type Job = *mut (dyn FnMut() + Send + 'static);

/// The state shared by the fitting thread and its helper.
pub struct Helper {
    state: AtomicU8,
    job: UnsafeCell<Option<Job>>,
    /// The helper thread, to wake when it sleeps.
    thread: OnceLock<Thread>,
}

// SAFETY: `job` is written by the fitting thread only while the state is IDLE
// or ASLEEP (the helper does not read it then), then published by storing
// READY (Release); it is taken by whichever thread moves the state out of
// READY with a compare-exchange (Acquire), the helper to RUNNING or the
// fitting thread back to IDLE, so only one of them ever reads it. The
// closure it points to is `Send`.
unsafe impl Sync for Helper {}

impl Helper {
    /// Runs `fit` with a helper thread when `wanted`, this thread is
    /// outside every rayon pool (a fit within one, such as a tuning trial's,
    /// shares its cores already) and the machine has a second core; else
    /// with none.
    pub fn around<T>(wanted: bool, fit: impl FnOnce(Option<&Helper>) -> T) -> T {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if !wanted || cores < 2 || rayon::current_thread_index().is_some() {
            return fit(None);
        }
        let helper = Helper {
            state: AtomicU8::new(IDLE),
            job: UnsafeCell::new(None),
            thread: OnceLock::new(),
        };
        std::thread::scope(|scope| {
            let spawned = std::thread::Builder::new()
                .name("pipit-gbm-helper".into())
                .spawn_scoped(scope, || helper.serve());
            // A thread the system will not give: the fit goes on alone.
            let Ok(serving) = spawned else {
                return fit(None);
            };
            // Set before any job is handed over: only then may it sleep.
            helper.thread.get_or_init(|| serving.thread().clone());
            // The helper returns once it sees QUIT, which the guard stores
            // however `fit` ends; the scope then joins it.
            struct Quit<'a>(&'a Helper);
            impl Drop for Quit<'_> {
                fn drop(&mut self) {
                    self.0.state.store(QUIT, Ordering::Release);
                    self.0.wake();
                }
            }
            let _quit = Quit(&helper);
            fit(Some(&helper))
        })
    }

    /// Runs `first` and `second` side by side on `helper` when there is
    /// one, else one after the other here.
    pub fn side_by_side(
        helper: Option<&Helper>,
        first: &mut (dyn FnMut() + Send),
        second: impl FnOnce(),
    ) {
        match helper {
            Some(helper) => helper.both(first, second),
            None => {
                first();
                second();
            }
        }
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Runs `first` on the helper, or here if the helper has not started it
    /// by the time `second` has run here, and returns when both have.
    pub fn both(&self, first: &mut (dyn FnMut() + Send), second: impl FnOnce()) {
        // One job at a time, from the fitting thread only (never from a job).
        let state = self.state.load(Ordering::Acquire);
        assert!(state == IDLE || state == ASLEEP, "the helper has a job already");
        let job: *mut (dyn FnMut() + Send + '_) = first;
        // SAFETY: the helper calls the job only after taking it (READY to
        // RUNNING), and this function does not return, nor unwind, before
        // it has either taken the job back or seen DONE or PANICKED
        // (`settle`, also when `second` unwinds), so `first` outlives every
        // use.
        let job: Job = unsafe { std::mem::transmute(job) };
        // SAFETY: see `impl Sync`: the helper does not read `job` now.
        unsafe { *self.job.get() = Some(job) };
        if self.state.swap(READY, Ordering::AcqRel) == ASLEEP {
            self.wake();
        }
        /// Settles the job if `second` unwinds: the job is then dropped, not run.
        struct Settle<'a>(&'a Helper);
        impl Drop for Settle<'_> {
            fn drop(&mut self) {
                self.0.settle();
            }
        }
        let guard = Settle(self);
        second();
        std::mem::forget(guard);
        if let Some(job) = self.settle() {
            // SAFETY: taken back from READY: `first` is alive and ours.
            unsafe { (*job)() };
        }
    }

    /// Takes the job back if the helper has not started it (returning it),
    /// else waits for the helper to finish it; panics if it panicked (unless
    /// this thread is unwinding already).
    fn settle(&self) -> Option<Job> {
        if self.state.compare_exchange(READY, IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // SAFETY: the job is ours again; the helper never took it.
            return unsafe { (*self.job.get()).take() };
        }
        let mut spins = 0u32;
        loop {
            match self.state.load(Ordering::Acquire) {
                DONE => break,
                PANICKED => {
                    self.state.store(IDLE, Ordering::Release);
                    if !std::thread::panicking() {
                        panic!("a boosting helper's job panicked");
                    }
                    return None;
                }
                _ => {
                    spins += 1;
                    // Let the helper have this core if it needs it.
                    if spins.is_multiple_of(64) {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        self.state.store(IDLE, Ordering::Release);
        None
    }

    /// The helper's loop: runs each job it takes until QUIT.
    fn serve(&self) {
        let mut spins = 0;
        loop {
            match self.state.load(Ordering::Acquire) {
                READY => {
                    if self
                        .state
                        .compare_exchange(READY, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                    {
                        continue;
                    }
                    // SAFETY: taken from READY, which was stored after `job`
                    // was written; the fitting thread waits for DONE.
                    let job = unsafe { (*self.job.get()).take() }.expect("a job is READY");
                    // SAFETY: `both` keeps the closure alive until DONE.
                    let ran = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)() }));
                    let state = if ran.is_ok() { DONE } else { PANICKED };
                    self.state.store(state, Ordering::Release);
                    spins = 0;
                }
                QUIT => return,
                IDLE if spins >= SPINS => {
                    if self
                        .state
                        .compare_exchange(IDLE, ASLEEP, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        while self.state.load(Ordering::Acquire) == ASLEEP {
                            std::thread::park();
                        }
                    }
                    spins = 0;
                }
                _ => {
                    spins += 1;
                    std::hint::spin_loop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_and_a_sleeping_helper_wakes() {
        let mut sums = (0u64, 0u64);
        Helper::around(true, |helper| {
            for round in 0..50u64 {
                let mut first = 0;
                let mut job = || first = (0..1000).map(|i| i * round).sum();
                let mut second = 0;
                match helper {
                    Some(helper) => helper.both(&mut job, || second = 1000 * round),
                    None => {
                        job();
                        second = 1000 * round;
                    }
                }
                sums.0 += first;
                sums.1 += second;
                if round == 25 {
                    // Long enough for the helper to park.
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        });
        assert_eq!(sums, ((0..50).map(|r| 499_500 * r).sum(), (0..50).map(|r| 1000 * r).sum()));
    }

    #[test]
    fn a_panicking_job_panics_the_fitting_thread() {
        // Run by the spinning helper (the fitting thread busy meanwhile), or
        // taken back from a parked one; a panic either way, never a hang.
        for (nap, busy) in [(0, 20), (20, 0)] {
            let outcome = catch_unwind(|| {
                Helper::around(true, |helper| {
                    std::thread::sleep(std::time::Duration::from_millis(nap));
                    let helper = helper.expect("two cores or more");
                    helper.both(&mut || panic!("boom"), || {
                        std::thread::sleep(std::time::Duration::from_millis(busy));
                    });
                })
            });
            assert!(outcome.is_err());
        }
    }

    #[test]
    fn a_panic_in_the_fitting_threads_half_waits_for_the_helper() {
        let (started, finished) =
            (std::sync::atomic::AtomicBool::new(false), std::sync::atomic::AtomicBool::new(false));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            Helper::around(true, |helper| {
                let helper = helper.expect("two cores or more");
                let mut job = || {
                    started.store(true, Ordering::Release);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    finished.store(true, Ordering::Release);
                };
                helper.both(&mut job, || {
                    while !started.load(Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                    panic!("boom");
                });
            })
        }));
        assert!(outcome.is_err());
        // The job borrowed this frame: it ran to its end before the unwind
        // left `both`.
        assert!(finished.load(Ordering::Acquire));
    }
}
