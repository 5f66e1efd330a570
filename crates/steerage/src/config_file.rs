//! A config file on disk: reading it, and replacing it crash-safely.

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

    fn replace_with(&self, bytes: &[u8]) -> io::Result<()> {
        // Replace the file a symbolic link points to, not the link.
        let target = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(&self.path)?,
            _ => self.path.clone(),
        };
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name")
        })?;
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        // Dropping the temporary file before `persist` deletes it.
        let mut temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        temp.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(&target) {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        temp.as_file().sync_all()?;
        temp.persist(&target).map_err(|e| e.error)?;
        sync_dir(dir)
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
    fn save_into_a_missing_directory_fails_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("steering.toml");
        let err = ConfigFile::new(&path).unwrap().save(&set()).unwrap_err();
        assert!(matches!(err, SteeringError::Write { path: p, .. } if p == path));
    }
}
