//! The client device's state file: what a phone keeps in its own storage
//! between operations ([`DeviceState`]), kept by `bvault client` in a file
//! of mode 0600 next to nothing else.
//!
//! It holds K, like the key file of `bvault key new`: whoever reads it can
//! decrypt the backups. It is the device's own storage, which the threat
//! model trusts; it never goes to the vault, the cloud or a log.
//!
//! ```json
//! {"user": 7, "mode": "password", "key": "64 hex digits or null",
//!  "registration": 3, "acknowledged": 2, "written": 4, "manifest_version": 5}
//! ```
//!
//! A file without `written` (from before the device kept it) reads it as 0:
//! the device's next backup then starts above its acknowledged generation.

use crate::error::RuntimeError;
use crate::fsutil;
use backup_vault::client::state::{DeviceState, Mode};
use backup_vault::cloud::Version;
use backup_vault::format::Generation;
use backup_vault::key::BackupKey;
use backup_vault::vault::ids::{RegistrationId, UserId};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// The largest device file read.
pub const MAX_DEVICE_FILE_BYTES: u64 = 16 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    user: u64,
    mode: String,
    key: Option<String>,
    registration: Option<u64>,
    acknowledged: u64,
    #[serde(default)]
    written: u64,
    manifest_version: Option<u64>,
}

impl Drop for DeviceFile {
    fn drop(&mut self) {
        if let Some(k) = self.key.as_mut() {
            k.zeroize();
        }
    }
}

/// Reads a device file; `Ok(None)` if there is none yet.
///
/// # Errors
/// [`RuntimeError::Config`] if it is too large or does not parse (its
/// content is never quoted: it holds K).
pub fn load(path: &Path) -> Result<Option<DeviceState>, RuntimeError> {
    let bad = |why: &str| RuntimeError::Config {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RuntimeError::File {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    if meta.len() > MAX_DEVICE_FILE_BYTES {
        return Err(bad("the device file is too large"));
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(RuntimeError::file(path))?);
    parse(&bytes).map(Some).map_err(bad)
}

/// Parses a device file's bytes. The message never quotes the content.
///
/// # Errors
/// What is wrong, in words.
pub fn parse(bytes: &[u8]) -> Result<DeviceState, &'static str> {
    if bytes.len() as u64 > MAX_DEVICE_FILE_BYTES {
        return Err("the device file is too large");
    }
    let file: DeviceFile =
        serde_json::from_slice(bytes).map_err(|_| "the device file does not parse")?;
    let mode = match file.mode.as_str() {
        "off" => Mode::Off,
        "key" => Mode::Key,
        "password" => Mode::Password,
        _ => return Err("the device file names an unknown mode"),
    };
    let key = match file.key.as_deref() {
        Some(text) => {
            Some(BackupKey::parse(text).map_err(|_| "the device file's key is not valid")?)
        }
        None => None,
    };
    let mut state = DeviceState::new(UserId(file.user));
    state.mode = mode;
    state.key = key;
    state.registration = file.registration.map(RegistrationId);
    state.acknowledged = Generation(file.acknowledged);
    state.written = Generation(file.written);
    state.manifest_version = file.manifest_version.map(Version);
    Ok(state)
}

/// A device file's bytes for `state` (wiped on drop: they hold K).
pub fn encode(state: &DeviceState) -> Zeroizing<Vec<u8>> {
    let file = DeviceFile {
        user: state.user.0,
        mode: match state.mode {
            Mode::Off => "off",
            Mode::Key => "key",
            Mode::Password => "password",
        }
        .to_string(),
        key: state.key.as_ref().map(|k| k.to_text().to_string()),
        registration: state.registration.map(|r| r.0),
        acknowledged: state.acknowledged.0,
        written: state.written.0,
        manifest_version: state.manifest_version.map(|v| v.0),
    };
    Zeroizing::new(serde_json::to_vec_pretty(&file).expect("a device file encodes"))
}

/// Writes `state` to `path` (mode 0600, atomically: after a crash the file
/// holds the old state or the new one).
///
/// # Errors
/// [`RuntimeError::File`].
pub fn save(path: &Path, state: &DeviceState) -> Result<(), RuntimeError> {
    fsutil::write_atomic(path, &encode(state), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn a_device_state_round_trips_through_its_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("device.json");
        assert!(load(&path).expect("absent is fine").is_none());
        let mut state = DeviceState::new(UserId(9));
        state.mode = Mode::Password;
        state.key = Some(BackupKey::generate(
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(3),
        ));
        state.registration = Some(RegistrationId(4));
        state.acknowledged = Generation(2);
        state.written = Generation(5);
        state.manifest_version = Some(Version(6));
        save(&path, &state).expect("save");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load(&path).expect("load"), Some(state));
        std::fs::write(&path, b"{\"user\": 1}").expect("write");
        assert!(load(&path).is_err());
    }

    /// A file from before the device kept the names it wrote still loads.
    #[test]
    fn a_device_file_without_written_reads_it_as_zero() {
        let old = br#"{"user": 1, "mode": "key", "key": null, "registration": null, "acknowledged": 3, "manifest_version": 2}"#;
        let state = parse(old).expect("parses");
        assert_eq!(
            (state.acknowledged, state.written),
            (Generation(3), Generation(0))
        );
        assert_eq!(state.backup_floor(), Generation(3));
    }
}
