//! Small file-system steps whose order matters for crash safety.

use crate::error::RuntimeError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `bytes` to `path` so that after a crash the file holds either its
/// old content or all of `bytes`: a temporary file in the same folder is
/// written and synced, renamed over `path`, and the folder synced.
///
/// # Errors
/// [`RuntimeError::File`] naming the file that failed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RuntimeError> {
    // A bare file name's parent is `Some("")`, which cannot be opened.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(RuntimeError::file(&tmp))?;
    file.write_all(bytes).map_err(RuntimeError::file(&tmp))?;
    file.sync_all().map_err(RuntimeError::file(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(RuntimeError::file(path))?;
    sync_dir(dir)
}

/// Syncs a folder, so that a rename or a new file in it survives a crash.
///
/// # Errors
/// [`RuntimeError::File`].
pub fn sync_dir(dir: &Path) -> Result<(), RuntimeError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(RuntimeError::file(dir))
}

/// Creates `dir` and its parents with mode 0700.
///
/// # Errors
/// [`RuntimeError::File`].
pub fn create_private_dir(dir: &Path) -> Result<(), RuntimeError> {
    use std::os::unix::fs::DirBuilderExt;
    // The folders this call creates, deepest first: each one's name must
    // be made durable in its parent.
    let mut created = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        created.push(d.to_path_buf());
        at = d.parent();
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(RuntimeError::file(dir))?;
    for d in &created {
        sync_dir(
            d.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
    }
    Ok(())
}
