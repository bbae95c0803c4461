//! A second thread for one boosting fit, which takes half of a large node's
//! histograms. Between two halves it spins a while before it sleeps, as
//! OpenMP's threads (LightGBM's) wait: a rayon worker that fell asleep between
//! two nodes takes longer to wake, on a virtual machine, than the half it
//! would take over.

use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::Thread;

/// No job, the helper spinning.
const IDLE: u8 = 0;
/// No job, the helper parked.
const ASLEEP: u8 = 1;
/// A job waiting for the helper or running.
const READY: u8 = 2;
/// The job has returned.
const DONE: u8 = 3;
/// The job has panicked.
const PANICKED: u8 = 4;
/// The fit is over.
const QUIT: u8 = 5;

/// How many times the helper checks for a job before it parks: about a
/// millisecond, longer than a node takes.
const SPINS: u32 = 1 << 16;

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
// or ASLEEP (the helper does not read it), and read by the helper only after
// it saw READY (Acquire, which the fitting thread stored with Release after
// writing it); the closure it points to is `Send`.
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
            let serving = scope.spawn(|| helper.serve());
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

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Runs `first` on the helper and `second` here, and returns when both
    /// have.
    pub fn both(&self, first: &mut (dyn FnMut() + Send), second: impl FnOnce()) {
        let job: *mut (dyn FnMut() + Send + '_) = first;
        // SAFETY: the helper calls the job only between READY and DONE (or
        // PANICKED), and this function does not return, nor unwind, before
        // it has seen one of those (`Wait`), so `first` outlives every use.
        let job: Job = unsafe { std::mem::transmute(job) };
        // One job at a time, from the fitting thread only (never from a job).
        let state = self.state.load(Ordering::Acquire);
        assert!(state == IDLE || state == ASLEEP, "the helper has a job already");
        // SAFETY: see `impl Sync`: the helper does not read `job` now.
        unsafe { *self.job.get() = Some(job) };
        if self.state.swap(READY, Ordering::AcqRel) == ASLEEP {
            self.wake();
        }
        struct Wait<'a>(&'a Helper);
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                loop {
                    match self.0.state.load(Ordering::Acquire) {
                        DONE => break,
                        PANICKED => {
                            self.0.state.store(IDLE, Ordering::Release);
                            if !std::thread::panicking() {
                                panic!("a boosting helper's job panicked");
                            }
                            return;
                        }
                        _ => std::hint::spin_loop(),
                    }
                }
                self.0.state.store(IDLE, Ordering::Release);
            }
        }
        let _wait = Wait(self);
        second();
    }

    /// The helper's loop: runs each job it is handed until QUIT.
    fn serve(&self) {
        let mut spins = 0;
        loop {
            match self.state.load(Ordering::Acquire) {
                READY => {
                    // SAFETY: READY was stored after `job` was written; the
                    // fitting thread does not touch it until DONE.
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
        let outcome = catch_unwind(|| {
            Helper::around(true, |helper| {
                if let Some(helper) = helper {
                    helper.both(&mut || panic!("boom"), || ());
                } else {
                    panic!("no helper");
                }
            })
        });
        assert!(outcome.is_err());
    }
}
