//! Property test: random bytes and random mutations of the demo pipeline never
//! panic the parser; they load or they give errors.

use std::path::Path;

use pipit::pipeline::{SourceFile, parse};
use proptest::prelude::*;

use crate::harness::demo;

fn parse_text(root: &Path, text: String) {
    let file = SourceFile::new("pipeline.yaml", root.join("pipeline.yaml"), text);
    let _ = parse(root, &file);
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        parse_text(dir.path(), text);
    }

    #[test]
    fn mutated_demo_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4u8, "[\\PC\\n:{}\\[\\]$@ -]{0,4}"), 1..6)
    ) {
        let (pipeline, params) = demo();
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("params.yaml"), params).unwrap();
        let mut text = pipeline.into_bytes();
        for (at, action, insert) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            match action {
                0 => { text.splice(i..i, insert.bytes()); }
                1 => { let end = (i + 8).min(text.len()); text.drain(i..end); }
                2 => { if i < text.len() { text[i] = insert.bytes().next().unwrap_or(b' '); } }
                _ => { let end = (i + 40).min(text.len()); let chunk: Vec<u8> = text[i..end].to_vec(); text.splice(i..i, chunk); }
            }
        }
        parse_text(dir.path(), String::from_utf8_lossy(&text).into_owned());
    }
}
