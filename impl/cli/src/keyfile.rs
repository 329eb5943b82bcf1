//! Reading a key from a key file.
//!
//! A key file holds the 64-digit text of a key (any layout that
//! `BackupKey::parse` accepts). At most `MAX_KEY_TEXT_BYTES + 1` bytes are
//! read, into a buffer that is wiped afterwards, so a wrong file given as a
//! key file is refused without being read whole. Error messages name the
//! file and the position of a bad character, never the key's digits.

use crate::exit::CliError;
use crate::io_util::{input_name, is_stdio};
use backup_vault::key::{BackupKey, MAX_KEY_TEXT_BYTES};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// Reads and parses the key in `path` (`-` for stdin).
pub fn load(path: &Path) -> Result<BackupKey, CliError> {
    let name = input_name(path);
    let text = if is_stdio(path) {
        read_limited(io::stdin().lock(), &name)?
    } else {
        let file = File::open(path).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                CliError::usage(format!("key file {name} does not exist"))
            } else {
                CliError::io(format!("cannot open key file {name}"), &err)
            }
        })?;
        let meta = file
            .metadata()
            .map_err(|err| CliError::io(format!("cannot read key file {name}"), &err))?;
        if meta.is_dir() {
            return Err(CliError::usage(format!("key file {name} is a directory")));
        }
        if meta.is_file() && meta.len() > MAX_KEY_TEXT_BYTES as u64 {
            return Err(too_long(&name, Some(meta.len())));
        }
        read_limited(file, &name)?
    };
    let text = std::str::from_utf8(&text).map_err(|err| {
        CliError::usage(format!(
            "key file {name} is not text: invalid UTF-8 at byte {}",
            err.valid_up_to()
        ))
    })?;
    BackupKey::parse(text).map_err(|err| CliError::usage(format!("key file {name}: {err}")))
}

fn read_limited<R: Read>(reader: R, name: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    // Allocated once at full size so that no reallocation leaves an unwiped copy.
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_KEY_TEXT_BYTES + 1));
    reader
        .take(MAX_KEY_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|err| CliError::io(format!("cannot read key file {name}"), &err))?;
    if buf.len() > MAX_KEY_TEXT_BYTES {
        return Err(too_long(name, None));
    }
    Ok(buf)
}

fn too_long(name: &str, len: Option<u64>) -> CliError {
    let size = len.map_or_else(
        || format!("more than {MAX_KEY_TEXT_BYTES} bytes"),
        |n| format!("{n} bytes"),
    );
    CliError::usage(format!(
        "key file {name} is {size} long; a key file holds 64 hex digits and is at most \
         {MAX_KEY_TEXT_BYTES} bytes: is this the right file?"
    ))
}
