//! Notices when served files may have changed: watches the directories that
//! hold them (so a file replaced by rename, as editors, config managers and
//! database updaters do, is seen as well as one written in place, and a
//! symbolic link's target directory too), and reports a burst of events
//! once, after it has been quiet for a while. Whether a file really changed
//! is the reloader's question (it compares fingerprints).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Watches directories while it lives.
pub(crate) struct FileWatch {
    _watcher: RecommendedWatcher,
}

/// Starts watching the directories of `files`; after events, once none has
/// come for `settle`, sends `()` on `changed`.
///
/// # Errors
/// When the platform's watcher cannot be created or a directory cannot be
/// watched.
pub(crate) fn start(
    files: &[PathBuf],
    settle: Duration,
    changed: mpsc::Sender<()>,
) -> notify::Result<FileWatch> {
    let (events, mut raw) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match event {
            // Reads of the files (ours included) change nothing.
            Ok(event) => !matches!(event.kind, EventKind::Access(_)),
            // An error (the queue overflowed, say): better look.
            Err(_) => true,
        };
        if relevant {
            let _ = events.send(());
        }
    })?;
    for dir in directories(files) {
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    }
    tokio::spawn(async move {
        while raw.recv().await.is_some() {
            // Wait for the burst to settle: editors and copies write in
            // several steps.
            loop {
                match tokio::time::timeout(settle, raw.recv()).await {
                    Ok(Some(())) => {}
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            if changed.send(()).await.is_err() {
                return;
            }
        }
    });
    Ok(FileWatch { _watcher: watcher })
}

/// The directories holding `files`, and those holding their link targets.
fn directories(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for file in files {
        dirs.insert(parent(file));
        if let Ok(target) = std::fs::canonicalize(file) {
            dirs.insert(parent(&target));
        }
    }
    dirs
}

fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_of_files_and_link_targets() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("geo.mmdb"), b"x").unwrap();
        let link = dir.path().join("geo.mmdb");
        #[cfg(unix)]
        std::os::unix::fs::symlink(data.join("geo.mmdb"), &link).unwrap();
        let dirs = directories(&[link, PathBuf::from("config.toml")]);
        assert!(dirs.contains(dir.path()));
        assert!(dirs.contains(Path::new(".")));
        #[cfg(unix)]
        assert!(dirs.contains(&std::fs::canonicalize(&data).unwrap()));
    }

    #[tokio::test]
    async fn a_burst_of_writes_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "a").unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let _watch = start(std::slice::from_ref(&file), Duration::from_millis(300), tx).unwrap();
        for i in 0..5 {
            std::fs::write(&file, format!("{i}")).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(first, Ok(Some(())));
        let second = tokio::time::timeout(Duration::from_millis(600), rx.recv()).await;
        assert!(second.is_err(), "one report per burst");
        // Replaced by rename: seen too.
        let other = dir.path().join("next.toml");
        std::fs::write(&other, "b").unwrap();
        std::fs::rename(&other, &file).unwrap();
        let third = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(third, Ok(Some(())));
    }
}
