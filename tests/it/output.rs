//! What `repro` shows of what stages print: streamed, prefixed when several
//! stages may run at once, grouped, only for failures, or not at all; the
//! logs are written whatever is shown.

use crate::harness::{Repo, Run};

/// `one` prints over time; `two` redraws a progress line; `three` reads both
/// and fails.
const PIPELINE: &str = r#"stages:
  one:
    cmd: for i in 1 2 3; do echo "one says $i"; sleep 0.1; done; echo "one warns" >&2; echo 1 > one.txt
    outs: [one.txt]
  two:
    cmd: printf 'two 10%%\rtwo 50%%\rtwo 100%%\n'; echo 2 > two.txt
    outs: [two.txt]
  three:
    cmd: cat one.txt two.txt; sleep 0.2; echo "three broke" >&2; exit 3
    deps: [one.txt, two.txt]
"#;

/// Returns stdout with the stage times made stable.
fn shown(run: &Run) -> String {
    let mut text = String::new();
    for line in run.stdout.lines() {
        let line = match line.find(" (") {
            Some(at) if line.starts_with("ran ") && line.ends_with("s)") => &line[..at],
            _ => line,
        };
        let line = match line.find(" in ") {
            Some(at) if line.starts_with("ran ") && line.ends_with('s') => &line[..at],
            _ => line,
        };
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn repo() -> Repo {
    Repo::with_pipeline(PIPELINE, "")
}

#[test]
fn one_stage_at_a_time_streams_its_lines_unprefixed() {
    let repo = repo();
    let run = repo.pipit(["repro", "-j", "1"]);
    assert_eq!(run.code, 1, "{run}");
    insta::assert_snapshot!(shown(&run), @r#"
    running    one
    one says 1
    one says 2
    one says 3
    one warns
    ran        one
    running    two
    two 100%
    ran        two
    running    three
    1
    2
    three broke
    failed     three: `cat one.txt two.txt; sleep 0.2; echo "three broke" >&2; exit 3` exited with code 3
               all it printed: `pipit logs three`
    ran 2, up to date 0, restored from run cache 0, failed 1
    "#);
}

#[test]
fn several_at_once_prefix_each_line_with_its_stage_and_keep_its_order() {
    let repo = repo();
    let run = repo.pipit(["repro", "-j", "2"]);
    assert_eq!(run.code, 1, "{run}");
    let of = |stage: &str| -> Vec<&str> {
        run.stdout.lines().filter_map(|l| l.strip_prefix(&format!("{stage} │ "))).collect()
    };
    assert_eq!(of("one"), ["one says 1", "one says 2", "one says 3", "one warns"], "{run}");
    assert_eq!(of("two"), ["two 100%"], "{run}");
    // Standard output and error are two pipes: the order within each holds,
    // not between them.
    let three = of("three");
    let others: Vec<&str> = three.iter().copied().filter(|l| *l != "three broke").collect();
    assert_eq!(others, ["1", "2"], "{run}");
    assert!(three.contains(&"three broke"), "{run}");
    // The lines came while `one` ran, before it was reported done.
    let position = |text: &str| run.stdout.find(text).unwrap_or(usize::MAX);
    assert!(position("one │ one says 3") < position("ran        one"), "{run}");
    // Mixed in with other stages' lines, the failure repeats its stderr's end.
    assert!(run.stdout.contains("exited with code 3\n           │ three broke\n"), "{run}");
}

#[test]
fn grouped_output_comes_together_when_its_stage_ends() {
    let repo = repo();
    let run = repo.pipit(["repro", "-j", "2", "--log-order", "grouped"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains(
            "one │ one says 1\none │ one says 2\none │ one says 3\none │ one warns\nran        one"
        ),
        "{run}"
    );
    assert!(run.stdout.contains("three │ three broke\nfailed     three"), "{run}");
}

#[test]
fn errors_only_shows_failed_stages_and_none_shows_nothing_but_logs_are_kept() {
    let repo = repo();
    let run = repo.pipit(["repro", "--output-logs", "errors-only"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(!run.stdout.contains("says"), "{run}");
    assert!(!run.stdout.contains("100%"), "{run}");
    assert!(run.stdout.contains("three broke\nfailed     three"), "{run}");

    let quiet = repo.pipit(["repro", "--force", "--quiet"]);
    assert!(!quiet.stdout.contains("says"), "{quiet}");
    assert!(quiet.stdout.contains("three broke\nfailed     three"), "{quiet}");

    let none = repo.pipit(["repro", "--force", "--output-logs", "none"]);
    assert!(!none.stdout.contains("says"), "{none}");
    // Nothing was shown, so the failure shows the end of its stderr.
    assert!(none.stdout.contains("exited with code 3\n           │ three broke\n"), "{none}");
    let logs = repo.pipit(["logs", "one"]);
    assert_eq!(logs.stdout, "one says 1\none says 2\none says 3\none warns\n", "{logs}");
}

#[test]
fn a_bad_output_mode_is_refused_with_the_choices_and_turbos_new_only_is_full() {
    let repo = repo();
    let run = repo.pipit(["repro", "--output-logs", "everything"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("full, errors-only, none"), "{run}");
    let run = repo.pipit(["repro", "-j", "1", "--output-logs", "new-only"]);
    assert!(run.stdout.contains("one says 1\n"), "{run}");
}

#[test]
fn a_background_process_holding_the_output_open_does_not_hang_the_run() {
    let repo = Repo::with_pipeline(
        "stages:\n  bg:\n    cmd: (sleep 15; echo late) & echo started > bg.txt\n    outs: [bg.txt]\n",
        "",
    );
    let start = std::time::Instant::now();
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(start.elapsed() < std::time::Duration::from_secs(12), "took {:?}", start.elapsed());
}

#[test]
fn output_beyond_what_a_pipe_holds_is_all_kept_from_every_command() {
    // Three commands of 40,000 lines each (about 290 KB: two on stdout, one
    // on stderr), far more than a pipe holds before it is read.
    let lines = "i=0; while [ $i -lt 40000 ]; do echo \"$1 $i\"; i=$((i+1)); done";
    let repo = Repo::with_pipeline(
        &format!(
            "stages:\n  big:\n    cmd:\n      - sh -c '{lines}' o a\n      - sh -c '{lines} >&2' e b\n      - sh -c '{lines}' o c && echo done > big.txt\n    outs: [big.txt]\n"
        ),
        "",
    );
    let run = repo.pipit(["repro", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let expected = |tags: &[&str]| -> String {
        tags.iter().flat_map(|tag| (0..40_000).map(move |i| format!("{tag} {i}\n"))).collect()
    };
    assert!(repo.read(".cache/logs/big.out") == expected(&["a", "c"]), "stdout log differs");
    assert!(repo.read(".cache/logs/big.err") == expected(&["b"]), "stderr log differs");
}
