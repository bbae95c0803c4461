//! The user documentation stays true: every command has a page in
//! `docs/commands/` whose reference part is its `--help`, word for word, and
//! README's command table names every command and no option the command
//! lacks. `PIPIT_UPDATE_DOCS=1 cargo test --test it docs` rewrites the
//! reference parts after a change to the CLI.

use std::path::{Path, PathBuf};

use crate::harness::Repo;

/// Where a page's reference part starts: everything below is generated.
const MARKER: &str = "<!-- Generated from `pipit … --help` by tests/it/docs.rs";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Returns `pipit ARGS --help` at 80 columns.
fn help(repo: &Repo, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let run = repo.pipit(&all);
    assert_eq!(run.code, 0, "{run}");
    run.stdout.trim_end().to_owned()
}

/// Returns the names listed under `Commands:` in a help text, but `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Returns the reference part of a command's page: its help, and its
/// subcommands' helps.
fn reference(repo: &Repo, command: &str) -> String {
    let top = help(repo, &[command]);
    let mut text = format!(
        "{MARKER}: `PIPIT_UPDATE_DOCS=1 cargo test --test it docs` rewrites it. -->\n\n\
         ## Reference\n\n```text\n$ pipit {command} --help\n{top}\n```\n"
    );
    for sub in subcommands(&top) {
        let help = help(repo, &[command, &sub]);
        text.push_str(&format!("\n### pipit {command} {sub}\n\n```text\n{help}\n```\n"));
    }
    text
}

fn commands(repo: &Repo) -> Vec<String> {
    subcommands(&help(repo, &[]))
}

#[test]
fn every_command_has_a_page_whose_reference_is_its_help() {
    let repo = Repo::new();
    let update = std::env::var_os("PIPIT_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for command in commands(&repo) {
        let path = root().join("docs/commands").join(format!("{command}.md"));
        let page = fs_err::read_to_string(&path).unwrap_or_default();
        let written = page.find(MARKER).map_or(page.as_str(), |at| &page[..at]);
        assert!(
            written.starts_with(&format!("# pipit {command}\n")),
            "{}: a page starts with `# pipit {command}` and what the command is for",
            path.display()
        );
        let wanted = format!("{written}{}", reference(&repo, &command));
        if page != wanted {
            if update {
                fs_err::write(&path, &wanted).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with --help: {stale:?}; run `PIPIT_UPDATE_DOCS=1 cargo test --test it docs`"
    );
}

#[test]
fn the_docs_index_and_readme_link_every_page() {
    let repo = Repo::new();
    let index = fs_err::read_to_string(root().join("docs/README.md")).unwrap();
    let readme = fs_err::read_to_string(root().join("README.md")).unwrap();
    for command in commands(&repo) {
        let link = format!("(commands/{command}.md)");
        assert!(index.contains(&link), "docs/README.md lacks {link}");
    }
    assert!(index.contains("(pipeline.md)"), "docs/README.md lacks the pipeline.yaml page");
    assert!(Path::new(&root().join("docs/pipeline.md")).is_file());
    assert!(readme.contains("(docs/README.md)"), "README links the docs");
}

/// Returns README's command table: each row's first cell.
fn readme_rows() -> Vec<String> {
    let readme = fs_err::read_to_string(root().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `pipit "))
        .filter_map(|l| l.split(" | ").next().map(|cell| cell.trim_start_matches("| ").to_owned()))
        .collect()
}

#[test]
fn readme_names_every_command_and_only_options_that_exist() {
    let repo = Repo::new();
    let rows = readme_rows();
    for command in commands(&repo) {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("`pipit {command}"))
                || r.contains(&format!(", `{command} "))),
            "README's table has no row for `pipit {command}`"
        );
    }
    for row in &rows {
        // `pipit stage train --train T …`: the command is the first word.
        let words: Vec<&str> = row
            .trim_matches('`')
            .split_whitespace()
            .skip(1)
            .take_while(|w| {
                w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
            })
            .take(1)
            .collect();
        // A row may name several subcommands (`promote VERSION`, `rollback …`):
        // its options are looked for in all of the command's helps.
        let mut text = help(&repo, &words[..1]);
        for sub in subcommands(&text) {
            text.push_str(&help(&repo, &[words[0], &sub]));
        }
        for option in row.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if option.starts_with("--") && option.len() > 2 {
                assert!(
                    text.contains(option),
                    "README row `{row}` names {option}, which `--help` lacks"
                );
            }
        }
    }
}
