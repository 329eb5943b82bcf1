//! Files: opening inputs, and writing outputs atomically.
//!
//! An output file is written under a temporary name in its own directory,
//! flushed and synced, then renamed into place, and the directory is synced.
//! Until then the temporary file is deleted on any failure (by `Drop`), so a
//! failed command never leaves a partial file under the name the user gave.
//! A process killed by a signal can leave the temporary file behind; its name
//! starts with `.` and ends in `.bvault-tmp`.

use crate::exit::CliError;
use rand_core::{OsRng, RngCore};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Buffer size for outputs. Small writes are gathered; a write at least this
/// large (a decrypted 64 KiB chunk, or a run of sealed chunks) goes straight
/// to the kernel instead of being copied through the buffer first.
pub const OUT_BUF: usize = 64 << 10;

/// Whether `path` is `-`, meaning stdin or stdout.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How to name an input in messages.
pub fn input_name(path: &Path) -> String {
    if is_stdio(path) {
        "standard input".to_owned()
    } else {
        format!("'{}'", path.display())
    }
}

/// How to name an output in messages.
pub fn output_name(path: &Path) -> String {
    if is_stdio(path) {
        "standard output".to_owned()
    } else {
        format!("'{}'", path.display())
    }
}

/// An opened input: stdin or a file.
pub enum Input {
    /// Standard input.
    Stdin(io::Stdin),
    /// A file.
    File(File),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Stdin(s) => s.read(buf),
            Input::File(f) => f.read(buf),
        }
    }
}

/// Opens `path` (or stdin for `-`). Returns the input and, for a regular
/// file, its length. A missing file or a directory is a usage error.
pub fn open_input(path: &Path, what: &str) -> Result<(Input, Option<u64>), CliError> {
    if is_stdio(path) {
        return Ok((Input::Stdin(io::stdin()), None));
    }
    let file = File::open(path).map_err(|err| open_error(path, what, &err))?;
    let meta = file
        .metadata()
        .map_err(|err| CliError::io(format!("cannot read {what} '{}'", path.display()), &err))?;
    if meta.is_dir() {
        return Err(CliError::usage(format!(
            "{what} '{}' is a directory",
            path.display()
        )));
    }
    let len = meta.is_file().then_some(meta.len());
    Ok((Input::File(file), len))
}

fn open_error(path: &Path, what: &str, err: &io::Error) -> CliError {
    if err.kind() == io::ErrorKind::NotFound {
        CliError::usage(format!("{what} '{}' does not exist", path.display()))
    } else {
        CliError::io(format!("cannot open {what} '{}'", path.display()), err)
    }
}

/// Refuses an output path that exists (unless `force`) or is a directory.
/// Called before any work, so that a refusal costs nothing.
pub fn check_output(path: &Path, force: bool) -> Result<(), CliError> {
    if is_stdio(path) {
        return Ok(());
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(CliError::usage(format!(
            "output '{}' is a directory",
            path.display()
        ))),
        Ok(_) if !force => Err(CliError::usage(format!(
            "output '{}' already exists; refusing to overwrite it (use --force to replace it)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// A file being written under a temporary name, renamed into place by
/// [`AtomicFile::commit`] and deleted if dropped before that.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
    force: bool,
}

impl AtomicFile {
    /// Creates the temporary file (mode 0600 on Unix) in `target`'s directory.
    pub fn create(target: &Path, force: bool) -> Result<Self, CliError> {
        let dir = parent_dir(target);
        let name = target.file_name().ok_or_else(|| {
            CliError::usage(format!("output '{}' is not a file name", target.display()))
        })?;
        let mut last_err = None;
        for _ in 0..8 {
            let temp = dir.join(temp_name(name));
            match create_private(&temp) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        temp,
                        file: Some(BufWriter::with_capacity(OUT_BUF, file)),
                        force,
                    })
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_err = Some(err),
                Err(err) => return Err(create_error(target, &err)),
            }
        }
        let err = last_err.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(create_error(target, &err))
    }

    /// Flushes and syncs the file, moves it to its final name and syncs the
    /// directory. Without `force`, an output that appeared meanwhile is kept
    /// and this one discarded.
    pub fn commit(mut self) -> Result<(), CliError> {
        let name = output_name(&self.target);
        let writer = self.file.take().expect("present until commit");
        let file = writer
            .into_inner()
            .map_err(|err| CliError::io(format!("cannot write {name}"), err.error()))?;
        file.sync_all()
            .map_err(|err| CliError::io(format!("cannot sync {name} to disk"), &err))?;
        drop(file);
        if self.force {
            fs::rename(&self.temp, &self.target)
                .map_err(|err| CliError::io(format!("cannot move the output into {name}"), &err))?;
        } else {
            self.link_no_clobber()?;
        }
        // The temporary name is gone (renamed, or unlinked after the link).
        self.temp = PathBuf::new();
        sync_dir(&parent_dir(&self.target)).map_err(|err| {
            CliError::io(
                format!("wrote {name} but cannot sync its directory to disk"),
                &err,
            )
        })
    }

    /// Moves the temporary file to the target name unless that exists. A hard
    /// link fails atomically if the target exists; filesystems without hard
    /// links fall back to check-then-rename.
    fn link_no_clobber(&mut self) -> Result<(), CliError> {
        let name = output_name(&self.target);
        match fs::hard_link(&self.temp, &self.target) {
            Ok(()) => {
                // Best effort: if this fails the temporary name stays as a
                // second link to the same, complete file.
                let _ = fs::remove_file(&self.temp);
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(CliError::usage(format!(
                "output {name} appeared while it was being written; refusing to overwrite it (use --force to replace it)"
            ))),
            Err(_) => {
                if fs::symlink_metadata(&self.target).is_ok() {
                    return Err(CliError::usage(format!(
                        "output {name} appeared while it was being written; refusing to overwrite it"
                    )));
                }
                fs::rename(&self.temp, &self.target).map_err(|err| {
                    CliError::io(format!("cannot move the output into {name}"), &err)
                })
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("present until commit").write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file
            .as_mut()
            .expect("present until commit")
            .write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("present until commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(writer) = self.file.take() {
            // Discard buffered bytes without writing them, then delete.
            let (file, _unwritten) = writer.into_parts();
            drop(file);
        }
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

fn create_error(target: &Path, err: &io::Error) -> CliError {
    let dir = parent_dir(target);
    if err.kind() == io::ErrorKind::NotFound {
        return CliError::usage(format!(
            "cannot create output '{}': directory '{}' does not exist",
            target.display(),
            dir.display()
        ));
    }
    CliError::io(
        format!(
            "cannot create a temporary file in '{}' for output '{}'",
            dir.display(),
            target.display()
        ),
        err,
    )
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_name(target_name: &std::ffi::OsStr) -> OsString {
    let mut random = [0u8; 6];
    OsRng.fill_bytes(&mut random);
    let mut name = OsString::from(".");
    name.push(target_name);
    name.push(".");
    name.push(hex::encode(random));
    name.push(".bvault-tmp");
    name
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Where a command's output goes: stdout, or an [`AtomicFile`].
pub enum Output {
    /// Standard output, buffered.
    Stdout(BufWriter<io::Stdout>),
    /// A file that appears only when committed.
    File(AtomicFile),
}

impl Output {
    /// Opens `path` for writing (stdout for `-`). Binary data is never
    /// written to a terminal unless `allow_terminal`.
    pub fn create(path: &Path, force: bool, allow_terminal: bool) -> Result<Self, CliError> {
        if is_stdio(path) {
            let stdout = io::stdout();
            if !allow_terminal && stdout.is_terminal() {
                return Err(CliError::usage(
                    "refusing to write a binary backup to a terminal; redirect stdout or give an output file",
                ));
            }
            return Ok(Output::Stdout(BufWriter::with_capacity(OUT_BUF, stdout)));
        }
        AtomicFile::create(path, force).map(Output::File)
    }

    /// Finishes the output: flushes stdout, or commits the file.
    pub fn commit(self) -> Result<(), CliError> {
        match self {
            Output::Stdout(mut w) => w
                .flush()
                .map_err(|err| CliError::io("cannot write standard output", &err)),
            Output::File(f) => f.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File(f) => f.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File(f) => f.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File(f) => f.flush(),
        }
    }
}

/// Writes `text` to stdout and flushes it; a closed stdout is an error, not a panic.
pub fn print_stdout(text: &str) -> Result<(), CliError> {
    print_stdout_raw(text).map_err(|err| CliError::io("cannot write standard output", &err))
}

/// Writes a report of `bvault-suite` (a sweep's summary, a model check's
/// verdict) to standard output. A reader that stops early (`| head`)
/// closes the pipe: the rest of the report is dropped, and the command goes
/// on to exit with its verdict (a violation stays 6), neither panicking nor
/// turning the verdict into an I/O error.
///
/// # Errors
/// Any other write error (a full disk under a redirect), as an I/O error.
pub fn print_report(text: &str) -> Result<(), CliError> {
    match print_stdout_raw(text) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|err| CliError::io("cannot write standard output", &err)),
    }
}

fn print_stdout_raw(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_atomic_file_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("bvault-io-util-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out");
        {
            let mut f = AtomicFile::create(&target, false).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let f = AtomicFile::create(&target, false).unwrap();
        assert_eq!(f.commit().unwrap_err().exit(), crate::exit::Exit::Usage);
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
