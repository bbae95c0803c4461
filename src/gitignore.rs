//! Keeping cached outputs and `.cache/` out of git: pipit adds them to the
//! repository's `.gitignore` so that nobody commits data by mistake.

use std::collections::HashSet;
use std::path::Path;

use crate::fsutil::write_atomic;

const HEADER: &str = "# Added by pipit: cached outputs and the cache itself";

/// Adds `/entry` lines for each of `entries` missing from `root/.gitignore`.
pub fn ensure_ignored(root: &Path, entries: &[String]) -> std::io::Result<()> {
    let path = root.join(".gitignore");
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let present: Vec<&str> = text.lines().map(str::trim).collect();
    let bare = |line: &'_ str| line.trim_start_matches('/').trim_end_matches('/').to_owned();
    let listed: HashSet<String> = present.iter().map(|p| bare(p)).collect();
    // Folders listed from the root (`/data` ignores `data/churn/raw.csv`).
    let folders: HashSet<String> = present
        .iter()
        .filter(|p| p.starts_with('/') && !p.contains(['*', '?', '[', '!']))
        .map(|p| bare(p))
        .filter(|p| !p.is_empty())
        .collect();
    let missing: Vec<String> = entries
        .iter()
        .map(|e| format!("/{}", e.trim_start_matches('/')))
        .filter(|line| {
            let path = bare(line);
            let mut above = path.match_indices('/').map(|(i, _)| &path[..i]);
            !listed.contains(&path) && !above.any(|folder| folders.contains(folder))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut updated = text.clone();
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    if !present.contains(&HEADER) {
        updated.push_str(HEADER);
        updated.push('\n');
    }
    let mut seen = std::collections::BTreeSet::new();
    for line in missing.into_iter().filter(|l| seen.insert(l.clone())) {
        updated.push_str(&line);
        updated.push('\n');
    }
    write_atomic(&path, updated.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds_only_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join(".gitignore"), "/target\ndata/raw.csv\n").unwrap();
        let entries = ["data/raw.csv".to_owned(), ".cache/".to_owned(), "models/m.bin".to_owned()];
        super::ensure_ignored(dir.path(), &entries).unwrap();
        super::ensure_ignored(dir.path(), &entries).unwrap();
        let text = fs_err::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert_eq!(
            text,
            "/target\ndata/raw.csv\n# Added by pipit: cached outputs and the cache itself\n/.cache/\n/models/m.bin\n"
        );
    }

    #[test]
    fn a_folder_listed_from_the_root_covers_what_is_inside() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join(".gitignore"),
            "/data
/models/
reports
",
        )
        .unwrap();
        let entries = [
            "data/churn/raw.csv".to_owned(),
            "models/m.bin".to_owned(),
            "reports/r.html".to_owned(),
            "database.csv".to_owned(),
        ];
        super::ensure_ignored(dir.path(), &entries).unwrap();
        let text = fs_err::read_to_string(dir.path().join(".gitignore")).unwrap();
        // `reports` (not anchored) is left to git's own rules: listed anyway.
        assert_eq!(
            text,
            "/data\n/models/\nreports\n# Added by pipit: cached outputs and the cache itself\n/reports/r.html\n/database.csv\n"
        );
    }
}
