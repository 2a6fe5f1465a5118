//! The file system a node's storage writes through: a flat directory of
//! named files that grow by appends, become durable only when synced, and
//! can be replaced atomically.
//!
//! Two implementations share the interface, so the storage code above it is
//! the same in production and under simulation:
//!
//! * [`RealFs`]: files in a directory on disk (`std::fs`), `fsync` for
//!   `sync`, and write-to-temp, `fsync`, rename, `fsync` the directory for
//!   [`FileSystem::replace`].
//! * [`SimFs`]: files in memory with real disk semantics: appended bytes are
//!   volatile until a sync covers them; a crash loses them, or keeps a
//!   prefix of the last unsynced bytes (a torn write); a bit of synced data
//!   can be flipped (silent corruption the storage must detect).
//!
//! This module never reads a clock and draws no randomness: the simulator
//! decides what a crash keeps and where a bit flips.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A file system error, with the file it concerns.
#[derive(Debug)]
pub struct FsError {
    /// The file.
    pub file: String,
    /// What went wrong.
    pub error: io::Error,
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.error)
    }
}

impl std::error::Error for FsError {}

fn fs_err(file: &str, error: io::Error) -> FsError {
    FsError {
        file: file.to_string(),
        error,
    }
}

/// A flat directory of files. Names are plain file names (no separators).
pub trait FileSystem {
    /// Appends `data` to `file` (created if absent). Volatile until synced.
    ///
    /// # Errors
    /// The write could not be issued.
    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), FsError>;

    /// Makes every byte appended to `file` so far durable.
    ///
    /// # Errors
    /// The sync failed: what was appended may or may not be durable.
    fn sync(&mut self, file: &str) -> Result<(), FsError>;

    /// Makes at least the first `len` bytes of `file` durable: a sync that
    /// started when the file was `len` bytes long (bytes appended since may
    /// or may not be covered; a real disk's `fsync` covers them all, the
    /// simulated one exactly `len`).
    ///
    /// # Errors
    /// As [`FileSystem::sync`].
    fn sync_to(&mut self, file: &str, len: u64) -> Result<(), FsError> {
        let _ = len;
        self.sync(file)
    }

    /// Replaces `file` with `data`, atomically and durably: after a crash
    /// the file holds either its old content or `data`, never a mix.
    ///
    /// # Errors
    /// The replacement failed (the old content is kept).
    fn replace(&mut self, file: &str, data: &[u8]) -> Result<(), FsError>;

    /// Cuts `file` to its first `len` bytes, durably.
    ///
    /// # Errors
    /// The file is missing or could not be cut.
    fn truncate(&mut self, file: &str, len: u64) -> Result<(), FsError>;

    /// The whole content of `file`, or `None` if it does not exist.
    ///
    /// # Errors
    /// The file exists but could not be read.
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, FsError>;

    /// Removes `file`, durably (nothing if it does not exist).
    ///
    /// # Errors
    /// The file could not be removed.
    fn remove(&mut self, file: &str) -> Result<(), FsError>;

    /// Every file's name, sorted.
    ///
    /// # Errors
    /// The directory could not be listed.
    fn list(&self) -> Result<Vec<String>, FsError>;
}

// ----- in memory -------------------------------------------------------------

/// One simulated file: its bytes, of which the first `durable` survive a
/// crash (the rest were appended since the last sync).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SimFile {
    data: Vec<u8>,
    durable: usize,
}

impl SimFile {
    fn unsynced(&self) -> usize {
        self.data.len() - self.durable
    }
}

/// An in-memory [`FileSystem`] with real disk semantics (see the module
/// docs). Deterministic: what a crash keeps and which bit flips are the
/// caller's arguments.
///
/// ```
/// use host::fs::{FileSystem, SimFs};
/// let mut fs = SimFs::default();
/// fs.append("wal", b"abc").expect("in memory");
/// fs.sync("wal").expect("in memory");
/// fs.append("wal", b"def").expect("in memory");
/// fs.crash(Some(1)); // the unsynced write is torn after one byte
/// assert_eq!(fs.read("wal").expect("in memory"), Some(b"abcd".to_vec()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimFs {
    files: BTreeMap<String, SimFile>,
}

impl SimFs {
    /// A crash: every unsynced byte is lost, except, with `torn =
    /// Some(n)`, the first `n` unsynced bytes of each file (a write torn
    /// part way). Returns how many unsynced bytes were lost.
    pub fn crash(&mut self, torn: Option<usize>) -> u64 {
        let mut lost = 0;
        for f in self.files.values_mut() {
            let keep = torn.unwrap_or(0).min(f.unsynced());
            lost += (f.unsynced() - keep) as u64;
            f.durable += keep;
            f.data.truncate(f.durable);
        }
        lost
    }

    /// Flips bit `bit` (0..8) of durable byte `offset` of `file`: silent
    /// corruption of synced data. Returns false if there is no such byte.
    pub fn flip_bit(&mut self, file: &str, offset: u64, bit: u8) -> bool {
        let Some(f) = self.files.get_mut(file) else {
            return false;
        };
        match usize::try_from(offset) {
            Ok(at) if at < f.durable => {
                f.data[at] ^= 1 << (bit % 8);
                true
            }
            _ => false,
        }
    }

    /// The durable length of `file` (0 if absent).
    #[must_use]
    pub fn durable_len(&self, file: &str) -> u64 {
        self.files.get(file).map_or(0, |f| f.durable as u64)
    }

    /// The unsynced bytes of `file` (0 if absent).
    #[must_use]
    pub fn unsynced_len(&self, file: &str) -> u64 {
        self.files.get(file).map_or(0, |f| f.unsynced() as u64)
    }

    /// Every file's name and durable length, in name order (where a
    /// simulated bit flip may land).
    #[must_use]
    pub fn durable_lens(&self) -> Vec<(&str, u64)> {
        self.files
            .iter()
            .map(|(name, f)| (name.as_str(), f.durable as u64))
            .collect()
    }

    /// Whether some file holds unsynced bytes.
    #[must_use]
    pub fn has_unsynced(&self) -> bool {
        self.files.values().any(|f| f.unsynced() > 0)
    }
}

impl FileSystem for SimFs {
    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), FsError> {
        match self.files.get_mut(file) {
            Some(f) => f.data.extend_from_slice(data),
            None => {
                let f = SimFile {
                    data: data.to_vec(),
                    durable: 0,
                };
                self.files.insert(file.to_string(), f);
            }
        }
        Ok(())
    }

    fn sync(&mut self, file: &str) -> Result<(), FsError> {
        if let Some(f) = self.files.get_mut(file) {
            f.durable = f.data.len();
        }
        Ok(())
    }

    fn sync_to(&mut self, file: &str, len: u64) -> Result<(), FsError> {
        if let Some(f) = self.files.get_mut(file) {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            f.durable = f.durable.max(len.min(f.data.len()));
        }
        Ok(())
    }

    fn replace(&mut self, file: &str, data: &[u8]) -> Result<(), FsError> {
        self.files.insert(
            file.to_string(),
            SimFile {
                data: data.to_vec(),
                durable: data.len(),
            },
        );
        Ok(())
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), FsError> {
        let f = self.files.get_mut(file).ok_or_else(|| {
            fs_err(
                file,
                io::Error::new(io::ErrorKind::NotFound, "no such file"),
            )
        })?;
        // Durably: what is kept is synced, the rest is gone.
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(f.data.len());
        f.data.truncate(len);
        f.durable = len;
        Ok(())
    }

    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, FsError> {
        Ok(self.files.get(file).map(|f| f.data.clone()))
    }

    fn remove(&mut self, file: &str) -> Result<(), FsError> {
        self.files.remove(file);
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>, FsError> {
        Ok(self.files.keys().cloned().collect())
    }
}

// ----- on disk ---------------------------------------------------------------

/// A [`FileSystem`] over a directory on disk.
///
/// Files appended to stay open (one `open` per file, not one per append or
/// sync), and a file created by an append makes the directory itself
/// synced at the next sync: until then the new file's name may not
/// survive a crash, whatever was synced inside it.
#[derive(Debug)]
pub struct RealFs {
    dir: PathBuf,
    /// Files open for appending, by name.
    appending: BTreeMap<String, std::fs::File>,
    /// A file was created since the directory was last synced.
    dir_unsynced: bool,
}

impl RealFs {
    /// The directory `dir`, created if absent.
    ///
    /// # Errors
    /// The directory could not be created.
    pub fn open(dir: impl AsRef<Path>) -> Result<RealFs, FsError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| fs_err(&dir.display().to_string(), e))?;
        Ok(RealFs {
            dir,
            appending: BTreeMap::new(),
            dir_unsynced: false,
        })
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, file: &str) -> Result<PathBuf, FsError> {
        if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a plain file name");
            return Err(fs_err(file, e));
        }
        Ok(self.dir.join(file))
    }

    fn sync_dir(&self) -> Result<(), FsError> {
        let d = std::fs::File::open(&self.dir)
            .map_err(|e| fs_err(&self.dir.display().to_string(), e))?;
        d.sync_all()
            .map_err(|e| fs_err(&self.dir.display().to_string(), e))
    }
}

impl FileSystem for RealFs {
    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), FsError> {
        use std::io::Write as _;
        if !self.appending.contains_key(file) {
            let path = self.path(file)?;
            let opened = std::fs::OpenOptions::new().append(true).open(&path);
            let f = match opened {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.dir_unsynced = true;
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| fs_err(file, e))?
                }
                Err(e) => return Err(fs_err(file, e)),
            };
            self.appending.insert(file.to_owned(), f);
        }
        match self.appending.get_mut(file) {
            Some(f) => f.write_all(data).map_err(|e| fs_err(file, e)),
            None => Err(fs_err(file, io::Error::other("not open"))),
        }
    }

    fn sync(&mut self, file: &str) -> Result<(), FsError> {
        match self.appending.get(file) {
            Some(f) => f.sync_all().map_err(|e| fs_err(file, e))?,
            None => match std::fs::File::open(self.path(file)?) {
                Ok(f) => f.sync_all().map_err(|e| fs_err(file, e))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(fs_err(file, e)),
            },
        }
        if self.dir_unsynced {
            self.sync_dir()?;
            self.dir_unsynced = false;
        }
        Ok(())
    }

    fn replace(&mut self, file: &str, data: &[u8]) -> Result<(), FsError> {
        use std::io::Write as _;
        let path = self.path(file)?;
        let tmp = self.path(&format!("{file}.tmp"))?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| fs_err(file, e))?;
        f.write_all(data).map_err(|e| fs_err(file, e))?;
        f.sync_all().map_err(|e| fs_err(file, e))?;
        // A handle open on the old file would append to it, not to this.
        self.appending.remove(file);
        std::fs::rename(&tmp, &path).map_err(|e| fs_err(file, e))?;
        self.sync_dir()?;
        self.dir_unsynced = false;
        Ok(())
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), FsError> {
        let path = self.path(file)?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| fs_err(file, e))?;
        f.set_len(len).map_err(|e| fs_err(file, e))?;
        f.sync_all().map_err(|e| fs_err(file, e))
    }

    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, FsError> {
        let path = self.path(file)?;
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fs_err(file, e)),
        }
    }

    fn remove(&mut self, file: &str) -> Result<(), FsError> {
        let path = self.path(file)?;
        self.appending.remove(file);
        match std::fs::remove_file(path) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fs_err(file, e)),
        }
    }

    fn list(&self) -> Result<Vec<String>, FsError> {
        let dir = self.dir.display().to_string();
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| fs_err(&dir, e))? {
            let entry = entry.map_err(|e| fs_err(&dir, e))?;
            if entry.file_type().map_err(|e| fs_err(&dir, e))?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same story on both file systems: what a reader sees.
    fn story(fs: &mut impl FileSystem) {
        fs.append("a", b"hello ").expect("append");
        fs.append("a", b"world").expect("append");
        fs.sync("a").expect("sync");
        assert_eq!(fs.read("a").expect("read"), Some(b"hello world".to_vec()));
        fs.truncate("a", 5).expect("truncate");
        assert_eq!(fs.read("a").expect("read"), Some(b"hello".to_vec()));
        fs.replace("b", b"one").expect("replace");
        fs.replace("b", b"two").expect("replace");
        assert_eq!(fs.read("b").expect("read"), Some(b"two".to_vec()));
        assert_eq!(
            fs.list().expect("list"),
            vec!["a".to_string(), "b".to_string()]
        );
        // Appends after a replacement or a removal go to the new file.
        fs.append("b", b" three").expect("append");
        assert_eq!(fs.read("b").expect("read"), Some(b"two three".to_vec()));
        fs.remove("a").expect("remove");
        assert_eq!(fs.read("a").expect("read"), None);
        fs.remove("a").expect("removing a missing file is fine");
        fs.append("a", b"again").expect("append");
        fs.sync("a").expect("sync");
        assert_eq!(fs.read("a").expect("read"), Some(b"again".to_vec()));
        fs.replace("a", b"new").expect("replace");
        fs.append("a", b"er").expect("append");
        assert_eq!(fs.read("a").expect("read"), Some(b"newer".to_vec()));
        fs.sync("missing").expect("syncing a missing file is fine");
    }

    #[test]
    fn both_file_systems_tell_the_same_story() {
        story(&mut SimFs::default());
        let dir = std::env::temp_dir().join(format!("raft-fs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut real = RealFs::open(&dir).expect("a temp dir");
        story(&mut real);
        assert!(real.read("../x").is_err(), "only plain names");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_crash_loses_unsynced_bytes_or_tears_them() {
        let mut fs = SimFs::default();
        fs.append("w", b"durable").expect("append");
        fs.sync("w").expect("sync");
        fs.append("w", b"lost").expect("append");
        assert!(fs.has_unsynced());
        assert_eq!(fs.crash(None), 4);
        assert_eq!(fs.read("w").expect("read"), Some(b"durable".to_vec()));
        fs.append("w", b"torn").expect("append");
        assert_eq!(fs.crash(Some(2)), 2);
        assert_eq!(fs.read("w").expect("read"), Some(b"durableto".to_vec()));
        assert!(fs.flip_bit("w", 0, 0));
        assert_eq!(fs.read("w").expect("read").expect("exists")[0], b'd' ^ 1);
        assert!(!fs.flip_bit("w", 100, 0), "no such byte");
        fs.append("w", b"abcdef").expect("append");
        fs.sync_to("w", 12).expect("sync");
        assert_eq!(fs.crash(None), 3, "a sync covers only what it started with");
    }
}
