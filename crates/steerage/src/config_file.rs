//! A config file on disk: reading it, and replacing it crash-safely,
//! cleaning up after saves that were killed.
//!
//! A save writes `.NAME.XXXXXX.tmp` (six random letters and digits) beside
//! the target and renames it over the target; a save killed before the
//! rename leaves that file behind. The next save, and a start from the
//! file, remove such leftovers: files of exactly that pattern for this
//! target, and only the stale ones.
//!
//! Stale is told from live by an advisory lock: a save holds an exclusive
//! lock on its temporary file (`File::try_lock`: `flock(2)` on Unix,
//! `LockFileEx` on Windows) from just after creating it until after the
//! rename, and the kernel drops the lock when the process ends, however it
//! ends. A leftover is a file of the pattern that can be locked. A process
//! id in the name was rejected: ids are reused (a dead save's file could
//! look live for ever), and mean nothing across pid namespaces (two
//! containers sharing the directory), where a live save's file would look
//! dead and be deleted under it. Between creating its file and locking it a
//! save is briefly unprotected; a cleaner that wins that race removes the
//! file, so the save checks, once it holds the lock, that its file still
//! has its name, and starts over with a new one if not. The lock is
//! advisory: programs that do not take it are not kept out, but no other
//! program's files match the pattern.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use steerage_policy::{Format, PolicySet};

use crate::SteeringError;

/// A config file and its format (from its extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFile {
    path: PathBuf,
    format: Format,
}

impl ConfigFile {
    /// A file whose name ends in `.toml` or `.json` (any case).
    pub(crate) fn new(path: impl Into<PathBuf>) -> Result<Self, SteeringError> {
        let path = path.into();
        match Format::from_path(&path) {
            Some(format) => Ok(Self { path, format }),
            None => Err(SteeringError::UnknownFormat { path }),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads, parses and validates the file.
    pub(crate) fn load(&self) -> Result<PolicySet, SteeringError> {
        let text = fs::read_to_string(&self.path).map_err(|source| SteeringError::Read {
            path: self.path.clone(),
            source,
        })?;
        PolicySet::from_str_in(&text, self.format).map_err(|source| SteeringError::ConfigFile {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes `set` to the file so that, whatever happens (a crash, a full
    /// disk, a power cut), the path holds either the old file or the
    /// complete new one, never a part.
    ///
    /// The text goes to a new temporary file in the same directory (so the
    /// rename stays on one file system), which is flushed to disk before it
    /// is renamed over the target; the directory is then flushed so the
    /// rename itself survives a power cut. An existing file's permissions
    /// are kept (a new file is readable and writable by its owner only),
    /// and a symbolic link is followed: the file it points to is replaced,
    /// the link stays. On error the temporary file is removed.
    pub(crate) fn save(&self, set: &PolicySet) -> Result<(), SteeringError> {
        let text = set.to_string_in(self.format)?;
        self.replace_with(text.as_bytes())
            .map_err(|source| SteeringError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Removes the temporary files that killed saves of this file left
    /// (see the module's documentation), as a save does first. Best effort:
    /// a leftover that cannot be removed (a read-only directory, say) stays,
    /// and is no reason to fail.
    pub(crate) fn remove_stale_temporaries(&self) {
        if let Ok(target) = self.target() {
            remove_stale_temporaries(&target);
        }
    }

    /// The file a save replaces: the one a symbolic link points to, not the
    /// link.
    fn target(&self) -> io::Result<PathBuf> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(&self.path),
            _ => Ok(self.path.clone()),
        }
    }

    fn replace_with(&self, bytes: &[u8]) -> io::Result<()> {
        let target = self.target()?;
        let (dir, name) = dir_and_name(&target)?;
        remove_stale_temporaries(&target);
        let mut temp = locked_temporary(dir, name)?;
        temp.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(&target) {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        temp.as_file().sync_all()?;
        // The lock goes with the file, closed after the rename: until then
        // no cleaner takes it for a leftover.
        let _renamed = temp.persist(&target).map_err(|e| e.error)?;
        sync_dir(dir)
    }
}

/// The random part of a temporary file's name: six letters and digits.
const TEMP_RANDOM_LEN: usize = 6;

/// The end of a temporary file's name.
const TEMP_SUFFIX: &str = ".tmp";

/// How many times a save starts over with a new temporary file when a
/// cleaner removed the one it had just created (each time the cleaner has
/// to win a race of a few system calls).
const TEMP_ATTEMPTS: usize = 8;

/// The directory (`.` for a bare name) and file name of `target`.
fn dir_and_name(target: &Path) -> io::Result<(&Path, &OsStr)> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    Ok((dir, name))
}

/// `.NAME.`: the start of the temporary files of target `NAME`.
fn temp_prefix(name: &OsStr) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    prefix
}

/// Whether `file` is named as a temporary file of the target whose
/// temporary files start with `prefix`: the prefix, exactly six letters or
/// digits, `.tmp`. Another target's (`.NAME.x.toml.XXXXXX.tmp` for
/// `NAME.x.toml`) has more between them.
fn is_temp_name(file: &OsStr, prefix: &OsStr) -> bool {
    let (file, prefix) = (file.as_encoded_bytes(), prefix.as_encoded_bytes());
    file.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX.as_bytes()))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_LEN && random.iter().all(u8::is_ascii_alphanumeric)
        })
}

/// A new temporary file for `name` in `dir`, created and locked (see the
/// module's documentation). Dropping it before `persist` deletes it.
fn locked_temporary(dir: &Path, name: &OsStr) -> io::Result<tempfile::NamedTempFile> {
    let prefix = temp_prefix(name);
    for _ in 0..TEMP_ATTEMPTS {
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .rand_bytes(TEMP_RANDOM_LEN)
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)?;
        match temp.as_file().try_lock() {
            // Locked: unless a cleaner removed it first, it is ours. Names
            // are random and created exclusively, so the name still being
            // there means it is still this file.
            Ok(()) if fs::symlink_metadata(temp.path()).is_ok() => return Ok(temp),
            Ok(()) | Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Err(io::Error::other(
        "temporary files were removed as soon as created: is another program deleting them?",
    ))
}

/// Removes the temporary files of `target` that no save holds locked.
fn remove_stale_temporaries(target: &Path) {
    let Ok((dir, name)) = dir_and_name(target) else {
        return;
    };
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        // Regular files only: the entry's own type, links not followed.
        if !is_temp_name(&file_name, &prefix) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        // Locked: a save in progress (in this process or another). The
        // lock is held until the file is removed, so a save that created
        // this name but had not locked it yet sees it gone and starts over.
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Flushes a directory's entries (the rename) to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; `MoveFileEx` (behind
/// `persist`) is as durable as that platform offers.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use steerage_policy::{BuiltinProvider, DomainName};

    fn set() -> PolicySet {
        let mut set = PolicySet::new(BuiltinProvider::new(
            DomainName::new("edge.example.net").unwrap(),
        ));
        set.create_policy("www.example.com").unwrap();
        set
    }

    #[test]
    fn format_comes_from_the_extension() {
        assert!(ConfigFile::new("a/b.TOML").is_ok());
        assert!(ConfigFile::new("b.json").is_ok());
        assert!(matches!(
            ConfigFile::new("b.yaml"),
            Err(SteeringError::UnknownFormat { path }) if path == Path::new("b.yaml")
        ));
    }

    #[test]
    fn save_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("steering.toml")).unwrap();
        fs::write(file.path(), "old").unwrap();
        file.save(&set()).unwrap();
        assert_eq!(file.load().unwrap(), set());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["steering.toml"]);
    }

    #[cfg(unix)]
    #[test]
    fn save_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("steering.json")).unwrap();
        fs::write(file.path(), "{}").unwrap();
        fs::set_permissions(file.path(), fs::Permissions::from_mode(0o640)).unwrap();
        file.save(&set()).unwrap();
        let mode = fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn save_through_a_symbolic_link_replaces_the_file_it_points_to() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let real = dir.path().join("real").join("steering.toml");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("steering.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        ConfigFile::new(&link).unwrap().save(&set()).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(ConfigFile::new(&real).unwrap().load().unwrap(), set());
        let names: Vec<_> = fs::read_dir(dir.path().join("real"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["steering.toml"]);
    }

    #[test]
    fn temporary_file_names() {
        let prefix = temp_prefix(OsStr::new("steering.toml"));
        for (name, is_temp) in [
            (".steering.toml.aB3xY9.tmp", true),
            (".steering.toml.ABCDEF.tmp", true),
            (".steering.toml.abcde.tmp", false),
            (".steering.toml.abcdefg.tmp", false),
            (".steering.toml.ab-def.tmp", false),
            (".steering.toml..tmp", false),
            (".steering.toml.tmp", false),
            ("steering.toml.abcdef.tmp", false),
            (".steering.toml.abcdef.tmp.bak", false),
            (".steering.json.abcdef.tmp", false),
            (".steering.toml.x.toml.abcdef.tmp", false),
            (".x.steering.toml.abcdef.tmp", false),
        ] {
            assert_eq!(is_temp_name(OsStr::new(name), &prefix), is_temp, "{name}");
        }
    }

    /// What a save killed mid-write leaves: its temporary file, unlocked
    /// (the lock died with the process).
    fn leftover(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, "[builtin]\ncname = ").unwrap();
        path
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn save_removes_stale_temporary_files_of_its_target_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("steering.toml")).unwrap();
        leftover(dir.path(), ".steering.toml.Ab12Cd.tmp");
        leftover(dir.path(), ".steering.toml.zzzzzz.tmp");
        let keep = [
            ".steering.json.Ab12Cd.tmp",
            ".steering.toml.x.toml.Ab12Cd.tmp",
            ".steering.toml.Ab12C.tmp",
            ".steering.toml.tmp",
            "steering.toml.Ab12Cd.tmp",
            ".steering.toml.Ab12Cd.tmp.bak",
            "other.txt",
        ];
        for name in keep {
            leftover(dir.path(), name);
        }
        // Entries of the pattern that are not regular files stay too.
        fs::create_dir(dir.path().join(".steering.toml.dir000.tmp")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            dir.path().join("other.txt"),
            dir.path().join(".steering.toml.link00.tmp"),
        )
        .unwrap();
        file.save(&set()).unwrap();
        let mut want: Vec<String> = keep.iter().map(|&n| n.to_owned()).collect();
        want.push(".steering.toml.dir000.tmp".to_owned());
        #[cfg(unix)]
        want.push(".steering.toml.link00.tmp".to_owned());
        want.push("steering.toml".to_owned());
        want.sort();
        assert_eq!(names(dir.path()), want);
        assert_eq!(file.load().unwrap(), set());
    }

    #[test]
    fn a_temporary_file_a_save_holds_locked_is_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("steering.json")).unwrap();
        // A save in progress elsewhere: its file, locked through a handle
        // of its own (advisory locks belong to an open file, so another
        // handle in this process contends as another process would).
        let live = leftover(dir.path(), ".steering.json.live00.tmp");
        let held = File::open(&live).unwrap();
        held.try_lock().unwrap();
        file.save(&set()).unwrap();
        file.remove_stale_temporaries();
        assert_eq!(
            names(dir.path()),
            [".steering.json.live00.tmp", "steering.json"]
        );
        // Once that save is gone (its process died), the file is a leftover.
        drop(held);
        file.remove_stale_temporaries();
        assert_eq!(names(dir.path()), ["steering.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn temporary_files_are_looked_for_beside_the_file_a_link_points_to() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let real = dir.path().join("real").join("steering.toml");
        fs::write(&real, set().to_toml_string().unwrap()).unwrap();
        let link = dir.path().join("steering.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        leftover(&dir.path().join("real"), ".steering.toml.Ab12Cd.tmp");
        ConfigFile::new(&link).unwrap().remove_stale_temporaries();
        assert_eq!(names(&dir.path().join("real")), ["steering.toml"]);
    }

    #[test]
    fn save_into_a_missing_directory_fails_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("steering.toml");
        let err = ConfigFile::new(&path).unwrap().save(&set()).unwrap_err();
        assert!(matches!(err, SteeringError::Write { path: p, .. } if p == path));
    }
}
