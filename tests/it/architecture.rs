//! The boundaries of DESIGN.md and STYLE.md, checked on the source itself: the
//! engine never reaches into the ML stages, never prints and never reads the
//! environment; only the CLI does.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn only_the_stage_command_imports_the_ml_stages() {
    let allowed = source_root().join("cli").join("stage.rs");
    for file in rust_files(&source_root()) {
        let text = fs_err::read_to_string(&file).unwrap();
        if file != allowed {
            assert!(!text.contains("pipit_stages"), "{} imports pipit_stages", file.display());
        }
    }
}

#[test]
fn the_engine_neither_prints_nor_reads_the_environment() {
    let cli = source_root().join("cli");
    let main = source_root().join("main.rs");
    for file in rust_files(&source_root()) {
        if file.starts_with(&cli) || file == main {
            continue;
        }
        let text = fs_err::read_to_string(&file).unwrap();
        for forbidden in
            ["println!", "eprintln!", "print!(", "eprint!(", "std::env::var", "env::var("]
        {
            assert!(!text.contains(forbidden), "{} uses `{forbidden}`", file.display());
        }
    }
}
