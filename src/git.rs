//! Files as a git revision has them, read with the `git` command.

use std::path::Path;
use std::process::Command;

/// Checks that `rev` names a commit of the repository at `root`.
pub fn verify(root: &Path, rev: &str) -> anyhow::Result<()> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git` to read revision `{rev}`: {e}"))?;
    if !output.status.success() {
        anyhow::bail!("`{rev}` is not a revision of the git repository at `{}`", root.display());
    }
    Ok(())
}

/// Returns the commit `HEAD` names and whether tracked files differ from it;
/// `None` outside a git repository or before the first commit.
pub fn head(root: &Path) -> Option<(String, bool)> {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let commit = git(&["rev-parse", "--verify", "--quiet", "HEAD"])?;
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
    let status = git(&["status", "--porcelain", "--untracked-files=no"])?;
    Some((commit, !status.stdout.is_empty()))
}

/// Returns the files under `path` (relative to `root`) at `rev`, sorted and
/// relative to `root`: the path itself when it is a file, none when the
/// revision has nothing there.
pub fn list_files(root: &Path, rev: &str, path: &str) -> anyhow::Result<Vec<String>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-tree", "-r", "-z", "--name-only", rev, "--", path])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git ls-tree`: {e}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "git cannot list `{path}` at `{rev}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut files: Vec<String> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    files.sort();
    Ok(files)
}

/// Returns the bytes of each of `paths` (relative to `root`) at `rev`, `None`
/// for those the revision does not have: one `git cat-file --batch` for all
/// of them, instead of a process per file.
pub fn show_many(root: &Path, rev: &str, paths: &[&str]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    use std::io::{BufRead, BufReader, Read, Write};
    let prefix = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git`: {e}"))?;
    if !prefix.status.success() {
        anyhow::bail!("`{}` is not in a git repository", root.display());
    }
    let prefix = String::from_utf8_lossy(&prefix.stdout).trim().to_owned();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run `git cat-file`: {e}"))?;
    let mut input = child.stdin.take().expect("stdin is piped");
    let names: String = paths.iter().map(|p| format!("{rev}:{prefix}{p}\n")).collect();
    // Written from a thread: git answers as it reads, and a full pipe either
    // way would stall both.
    let writer = std::thread::spawn(move || input.write_all(names.as_bytes()));
    let mut output = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut found = Vec::with_capacity(paths.len());
    for path in paths {
        let mut header = String::new();
        output.read_line(&mut header)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields.as_slice() {
            [_, "blob", size] => {
                let size: usize = size.parse()?;
                let mut bytes = vec![0; size + 1];
                output.read_exact(&mut bytes)?;
                bytes.pop();
                found.push(Some(bytes));
            }
            [.., "missing"] => found.push(None),
            _ => anyhow::bail!("git cannot read `{path}` at `{rev}`: {}", header.trim()),
        }
    }
    writer.join().map_err(|_| anyhow::anyhow!("writing to `git cat-file` panicked"))??;
    child.wait()?;
    Ok(found)
}
