//! `bvault client --device phone.json`: a device file named by a bare
//! relative path (the example in docs/runtime.md). Its parent is `Some("")`,
//! not `None`, and the atomic write must sync the current folder rather
//! than fail after the rename (a reviewer found the restore exiting 1 with
//! the device file, holding K, written and the restored archive not).
//! Its own test binary: it changes the process's current folder.

use backup_vault::client::state::DeviceState;
use backup_vault::vault::ids::UserId;
use backup_vault_runtime::device;

#[test]
fn a_device_file_in_the_current_folder_saves() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    std::env::set_current_dir(tmp.path()).expect("cd into it");
    let path = std::path::Path::new("phone.json");
    let state = DeviceState::new(UserId(3));
    device::save(path, &state).expect("the save succeeds");
    assert_eq!(device::load(path).expect("load"), Some(state));
}
