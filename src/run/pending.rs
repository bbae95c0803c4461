//! Outs hashed after the stages that read them have started. On a first run
//! nothing is up to date to decide: a stage with no lock entry runs whatever
//! its deps hash to, and with no run cache to look in, its deps' hashes are
//! needed only for its lock entry. So a stage whose every (selected) child is
//! such a stage lets them start as soon as its command ended, and its outs
//! are hashed and stored on the thread that stores outs, beside the command
//! that runs next; the children take their deps' hashes from here when they
//! are recorded, on that same thread, after (see [`super::Shared::work`]: a
//! stage's outs are handed to be stored before its children are let start).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use crate::dag::Dag;
use crate::lockfile::{LockEntry, LockedPath};
use crate::pipeline::Stage;
use crate::runcache;

/// Which stages are recorded with deps hashed later, and which hash their
/// outs later.
#[derive(Debug, Default)]
pub struct Deferral {
    /// Stages that run whatever their deps hash to: no lock entry, and no
    /// run cache to restore from.
    fresh: HashSet<usize>,
    /// Stages whose outs are hashed after their children start: every
    /// selected child of theirs is fresh.
    later: HashSet<usize>,
    /// The outs being hashed, by name, until they are.
    outs: Mutex<HashMap<String, Slot>>,
}

/// An out handed over before it was hashed.
#[derive(Clone, Debug)]
enum Slot {
    /// Being hashed for the stage named.
    Hashing(String),
    /// Hashed and stored.
    Hashed(LockedPath),
    /// Not hashed: the stage named failed.
    Failed(String),
}

/// What a run looks like to [`Deferral::plan`].
pub struct Run<'a> {
    pub stages: &'a [Stage],
    pub dag: &'a Dag,
    pub selected: &'a BTreeSet<usize>,
    pub lock: &'a std::collections::BTreeMap<String, LockEntry>,
    /// The run cache may restore a stage: it is used and not empty.
    pub restorable: bool,
    /// Outs may be hashed later: the stages run here, nothing is fetched.
    pub allowed: bool,
}

impl Deferral {
    /// Finds the fresh stages of `run`, and those hashing their outs later.
    pub fn plan(run: &Run<'_>) -> Self {
        if !run.allowed {
            return Self::default();
        }
        let fresh: HashSet<usize> = run
            .selected
            .iter()
            .copied()
            .filter(|&index| {
                let stage = &run.stages[index];
                !stage.frozen
                    && !run.lock.contains_key(&stage.name)
                    && (!run.restorable || !runcache::applies_to(stage))
            })
            .collect();
        let later = run
            .selected
            .iter()
            .copied()
            .filter(|&index| {
                run.dag
                    .children(index)
                    .into_iter()
                    .filter(|child| run.selected.contains(child))
                    .all(|child| fresh.contains(&child))
            })
            .collect();
        Self { fresh, later, outs: Mutex::default() }
    }

    /// True when stage `index` is recorded with the deps still being hashed
    /// taken from here.
    pub fn is_fresh(&self, index: usize) -> bool {
        self.fresh.contains(&index)
    }

    /// True when stage `index` hashes its outs after its children start.
    pub fn hashes_later(&self, index: usize) -> bool {
        self.later.contains(&index)
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.outs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True when the out `name` was handed over before it was hashed: its
    /// hash is then taken from here (see [`Deferral::resolve`]), not from
    /// the workspace.
    pub fn is_promised(&self, name: &str) -> bool {
        self.slots().contains_key(name)
    }

    /// Registers the outs `names` of `stage` as being hashed; the promise
    /// returned says what came of them (failed, unless kept).
    pub fn promise<'d>(&'d self, stage: &str, names: Vec<String>) -> Promise<'d> {
        let mut slots = self.slots();
        for name in &names {
            slots.insert(name.clone(), Slot::Hashing(stage.to_owned()));
        }
        Promise { deferral: self, stage: stage.to_owned(), names }
    }

    /// The hash of the out `name` handed over earlier, or the stage whose
    /// failure left it unhashed.
    pub fn resolve(&self, name: &str) -> Result<LockedPath, String> {
        match self.slots().get(name) {
            Some(Slot::Hashed(locked)) => {
                Ok(LockedPath { path: name.to_owned(), ..locked.clone() })
            }
            Some(Slot::Hashing(stage) | Slot::Failed(stage)) => Err(stage.clone()),
            None => Err(format!("(nothing produced `{name}`)")),
        }
    }
}

/// Outs being hashed: failed (for the stage named) when dropped unless
/// [`Promise::keep`] said what they hash to.
pub struct Promise<'d> {
    deferral: &'d Deferral,
    stage: String,
    /// The outs not yet said to be hashed.
    names: Vec<String>,
}

impl Promise<'_> {
    /// The outs are hashed and stored: `outs`.
    pub fn keep(mut self, outs: &[LockedPath]) {
        let mut slots = self.deferral.slots();
        for out in outs {
            slots.insert(out.path.clone(), Slot::Hashed(out.clone()));
        }
        self.names.clear();
    }

    /// The outs were not hashed because `stage` (one before) failed.
    pub fn break_for(mut self, stage: &str) {
        stage.clone_into(&mut self.stage);
    }
}

impl Drop for Promise<'_> {
    fn drop(&mut self) {
        let mut slots = self.deferral.slots();
        for name in self.names.drain(..) {
            slots.insert(name, Slot::Failed(self.stage.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "stages:
  a:
    cmd: make a
    outs: [a]
  b:
    cmd: make b
    deps: [a]
    outs: [b]
  c:
    cmd: make c
    deps: [b]
    outs: [c]
  d:
    cmd: make d
    deps: [a]
    outs: [d]
";

    fn pipeline() -> crate::pipeline::Pipeline {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("pipeline.yaml"), CHAIN).unwrap();
        crate::pipeline::load(dir.path()).unwrap()
    }

    fn plan(
        pipeline: &crate::pipeline::Pipeline,
        locked: &[&str],
        restorable: bool,
        allowed: bool,
    ) -> Deferral {
        let dag = Dag::build(pipeline).unwrap();
        let selected = (0..pipeline.stages.len()).collect();
        let entry = LockEntry {
            cmd: Vec::new(),
            deps: Vec::new(),
            params: Default::default(),
            outs: Vec::new(),
        };
        let lock = locked.iter().map(|name| ((*name).to_owned(), entry.clone())).collect();
        let stages = &pipeline.stages;
        let run = Run { stages, dag: &dag, selected: &selected, lock: &lock, restorable, allowed };
        Deferral::plan(&run)
    }

    #[test]
    fn outs_are_hashed_later_only_when_every_child_runs_whatever_they_hash_to() {
        let stages = pipeline();
        let first = plan(&stages, &[], false, true);
        assert!((0..4).all(|index| first.is_fresh(index) && first.hashes_later(index)));
        // `d` has a lock entry: it runs only if `a` changed, so `a` is hashed
        // before its children start; `b`, whose child is fresh, is not.
        let some = plan(&stages, &["d"], false, true);
        assert!(!some.is_fresh(3) && some.is_fresh(1));
        assert!(!some.hashes_later(0) && some.hashes_later(1) && some.hashes_later(3));
        // A run cache to restore from needs the deps' hashes first.
        let cached = plan(&stages, &[], true, true);
        assert!((0..4).all(|index| !cached.is_fresh(index)));
        assert!(!cached.hashes_later(0) && cached.hashes_later(2));
        let fetching = plan(&stages, &[], false, false);
        assert!((0..4).all(|index| !fetching.is_fresh(index) && !fetching.hashes_later(index)));
    }

    #[test]
    fn a_promise_gives_the_hashes_kept_or_names_the_stage_that_failed() {
        let deferral = Deferral::default();
        let locked = LockedPath { path: "a".into(), hash: "ab".repeat(32), size: 3, nfiles: None };
        let kept = deferral.promise("make-a", vec!["a".into()]);
        assert!(deferral.is_promised("a") && !deferral.is_promised("b"));
        assert_eq!(deferral.resolve("a"), Err("make-a".into()), "still being hashed");
        kept.keep(std::slice::from_ref(&locked));
        assert_eq!(deferral.resolve("a"), Ok(locked));
        drop(deferral.promise("make-b", vec!["b".into()]));
        assert_eq!(deferral.resolve("b"), Err("make-b".into()));
        deferral.promise("make-c", vec!["c".into()]).break_for("make-b");
        assert_eq!(deferral.resolve("c"), Err("make-b".into()));
    }
}
