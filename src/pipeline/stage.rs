//! The typed, expanded, validated stage: what the DAG and the executor work with.

use std::path::PathBuf;

use serde::Serialize;

use super::paths::RepoPath;
use super::source::Span;

/// One runnable stage after foreach/matrix expansion and interpolation.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// The full name: `train`, `generate@housing`, `train@churn-forest`.
    pub name: String,
    /// The foreach/matrix family the stage was expanded from (`train`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The commands, run one after another through `sh -c` in `wdir`.
    pub cmd: Vec<String>,
    /// The working directory, relative to the repository root.
    pub wdir: RepoPath,
    /// The files and directories the stage reads.
    pub deps: Vec<Dep>,
    /// The parameters the stage reads, with their current values.
    pub params: Vec<ParamDep>,
    /// The files and directories the stage writes (outs, metrics and plots).
    pub outs: Vec<Out>,
    /// A frozen stage never runs.
    pub frozen: bool,
    /// An always-changed stage runs every time.
    pub always_changed: bool,
    /// A description for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// What it asks of the machine that runs it.
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Where the stage is defined in pipeline.yaml (its name).
    #[serde(skip)]
    pub span: Span,
}

/// What a stage asks of the machine that runs it (`resources:`): all
/// optional. Locally, `cpus` counts against `repro -j`; a cluster's
/// scheduler is asked for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// Cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Memory, in MiB (`mem: 8G`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_mib: Option<u64>,
    /// The longest the stage may run, in seconds (`time: 2h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_seconds: Option<u64>,
    /// GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// The cluster partition (queue) to run in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Runs on this machine whichever executor runs the others.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
}

impl Resources {
    /// Returns true when the stage asks for nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// How many of `jobs` slots the stage takes when run here: its `cpus`,
    /// at least one and at most all of them.
    pub fn slots(&self, jobs: usize) -> usize {
        self.cpus.map_or(1, |cpus| cpus as usize).clamp(1, jobs.max(1))
    }
}

impl std::fmt::Display for Resources {
    /// `cpus 4, mem 8G, time 1h30m, gpus 1, partition gpu, local`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(cpus) = self.cpus {
            parts.push(format!("cpus {cpus}"));
        }
        if let Some(mib) = self.mem_mib {
            let mem = match mib {
                _ if mib % (1024 * 1024) == 0 => format!("{}T", mib / (1024 * 1024)),
                _ if mib % 1024 == 0 => format!("{}G", mib / 1024),
                _ => format!("{mib}M"),
            };
            parts.push(format!("mem {mem}"));
        }
        if let Some(seconds) = self.time_seconds {
            let (days, rest) = (seconds / 86_400, seconds % 86_400);
            let (hours, rest) = (rest / 3600, rest % 3600);
            let (minutes, seconds) = (rest / 60, rest % 60);
            let time: String = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
                .into_iter()
                .filter(|(count, _)| *count > 0)
                .map(|(count, unit)| format!("{count}{unit}"))
                .collect();
            parts.push(format!("time {time}"));
        }
        if let Some(gpus) = self.gpus {
            parts.push(format!("gpus {gpus}"));
        }
        if let Some(partition) = &self.partition {
            parts.push(format!("partition {partition}"));
        }
        if self.local {
            parts.push("local".to_owned());
        }
        f.write_str(&parts.join(", "))
    }
}

/// Reads a memory size with its unit (`512M`, `8G`; K, M, G, T: powers of
/// 1024, as SLURM takes them) as MiB, rounded up.
pub fn parse_memory(text: &str) -> Option<u64> {
    let text = text.trim();
    let last = text.chars().last()?;
    let unit = last.to_ascii_uppercase();
    let digits = &text[..text.len() - last.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    let mib = match unit {
        'K' => number.div_ceil(1024),
        'M' => number,
        'G' => number.checked_mul(1024)?,
        'T' => number.checked_mul(1024 * 1024)?,
        _ => return None,
    };
    (mib > 0).then_some(mib)
}

/// Reads a duration as seconds: units (`90s`, `30m`, `2h`, `1d`, `1h30m`)
/// or SLURM's `[D-]HH:MM:SS`, `MM:SS` and `D-HH[:MM]`.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let seconds = if text.contains(':') || text.contains('-') {
        let (days, clock) = match text.split_once('-') {
            Some((days, clock)) => (number(days)?, clock),
            None => (0, text),
        };
        let parts: Vec<u64> = clock.split(':').map(number).collect::<Option<_>>()?;
        let (hours, minutes, seconds) = match (text.contains('-'), parts.as_slice()) {
            (true, [h]) => (*h, 0, 0),
            (true, [h, m]) => (*h, *m, 0),
            (false, [m, s]) => (0, *m, *s),
            (_, [h, m, s]) => (*h, *m, *s),
            _ => return None,
        };
        if minutes >= 60 || seconds >= 60 {
            return None;
        }
        let hours = days.checked_mul(24)?.checked_add(hours)?;
        hours.checked_mul(3600)?.checked_add(minutes * 60 + seconds)?
    } else {
        let mut total = 0u64;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let scale = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return None,
            };
            total = total.checked_add(number(&digits)?.checked_mul(scale)?)?;
            digits.clear();
        }
        if !digits.is_empty() {
            return None;
        }
        total
    };
    (seconds > 0).then_some(seconds)
}

fn number(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

/// A dependency of a stage.
#[derive(Clone, Debug, Serialize)]
pub struct Dep {
    /// Where it is.
    pub path: DepPath,
    /// Where it is written in pipeline.yaml.
    #[serde(skip)]
    pub span: Span,
}

/// Where a dependency lies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DepPath {
    /// Inside the repository.
    Repo(RepoPath),
    /// Outside it (external data): hashed, never cached.
    External(PathBuf),
}

/// What kind of output a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutKind {
    /// Listed under `outs`.
    Out,
    /// Listed under `metrics`.
    Metric,
    /// Listed under `plots`.
    Plot,
}

/// An output of a stage.
#[derive(Clone, Debug, Serialize)]
pub struct Out {
    /// The path, relative to the repository root.
    pub path: RepoPath,
    /// Which list it comes from.
    pub kind: OutKind,
    /// Whether it is stored in the cache.
    pub cache: bool,
    /// Whether it survives the start of a run.
    pub persist: bool,
    /// How a plots out is drawn (`None` for outs and metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot: Option<super::plot::PlotProperties>,
    /// Where it is written in pipeline.yaml.
    #[serde(skip)]
    pub span: Span,
}

/// The parameters a stage reads from one params file.
#[derive(Clone, Debug, Serialize)]
pub struct ParamDep {
    /// The params file, relative to the repository root.
    pub file: RepoPath,
    /// Each key with its current value; the whole file is one entry with key `""`.
    pub values: indexmap::IndexMap<String, serde_json::Value>,
}

impl Stage {
    /// Returns the dependencies that lie inside the repository.
    pub fn repo_deps(&self) -> impl Iterator<Item = (&RepoPath, &Dep)> {
        self.deps.iter().filter_map(|dep| match &dep.path {
            DepPath::Repo(path) => Some((path, dep)),
            DepPath::External(_) => None,
        })
    }
}

impl std::fmt::Display for DepPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DepPath::Repo(path) => path.fmt(f),
            DepPath::External(path) => path.display().fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Resources, parse_duration, parse_memory};

    #[test]
    fn memory_takes_a_unit_and_counts_mib() {
        assert_eq!(parse_memory("512M"), Some(512));
        assert_eq!(parse_memory("8G"), Some(8192));
        assert_eq!(parse_memory("8g"), Some(8192));
        assert_eq!(parse_memory("1T"), Some(1024 * 1024));
        assert_eq!(parse_memory("1500K"), Some(2));
        for bad in ["8", "G", "8GB", "1.5G", "-1G", "0M", "", "99999999999999999999G", "8é", "µ"]
        {
            assert_eq!(parse_memory(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_take_units_or_slurm_clocks() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("30:00"), Some(1800));
        assert_eq!(parse_duration("1:30:00"), Some(5400));
        assert_eq!(parse_duration("1-12:00:00"), Some(129_600));
        assert_eq!(parse_duration("2-12"), Some(216_000));
        assert_eq!(parse_duration("1-0:30"), Some(88_200));
        for bad in
            ["90", "2H", "1h30", "h", "1:61", "1:2:3:4", "-5", "0s", "1-", "", "300000000000000-0"]
        {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn resources_read_back_as_written() {
        let resources = Resources {
            cpus: Some(4),
            mem_mib: parse_memory("8G"),
            time_seconds: parse_duration("1-1:30:05"),
            gpus: Some(1),
            partition: Some("gpu".into()),
            local: true,
        };
        let text = "cpus 4, mem 8G, time 1d1h30m5s, gpus 1, partition gpu, local";
        assert_eq!(resources.to_string(), text);
        let small = Resources { mem_mib: parse_memory("1536M"), ..Resources::default() };
        assert_eq!(small.to_string(), "mem 1536M");
        assert_eq!(Resources::default().to_string(), "");
    }

    #[test]
    fn a_stage_takes_its_cpus_in_slots_at_least_one_at_most_all() {
        let cpus = |cpus| Resources { cpus, ..Resources::default() };
        assert_eq!(cpus(None).slots(4), 1);
        assert_eq!(cpus(Some(2)).slots(4), 2);
        assert_eq!(cpus(Some(8)).slots(4), 4);
        assert_eq!(cpus(Some(8)).slots(0), 1);
    }
}
