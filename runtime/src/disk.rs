//! [`FileDisk`]: a node's record log in a file, with one `fsync` per batch.
//!
//! The file is the record format of [`backup_vault::wire::disk`] (specified
//! in `docs/format.md`'s companion, fuzzed, and the same bytes the simulator
//! tears and flips): records appended one after another. What each kind of
//! write does, and why it is crash safe:
//!
//! - `Append`: the framed record is written at the end of the file
//!   (`write(2)`, no sync). [`Disk::flush`], which the host calls once
//!   after a batch of appends and before the node hears they are durable,
//!   runs `fdatasync`: many clients' commands share one sync (group commit).
//!   A crash before the sync may leave any prefix of the batch, the last
//!   record torn; the framing tells a torn tail from corruption.
//! - `Replace` (a snapshot): the new image is written to `vault.log.tmp`,
//!   synced, renamed over `vault.log`, and the folder synced, before
//!   `persist` returns. A crash leaves the old file or the new one.
//! - Reading at restart: the valid prefix of the file (the rule in
//!   [`backup_vault::vault::storage`]); the file is cut to it, so that
//!   appends continue after the last whole record.
//!
//! A failed write or sync is not retried: after a failed `fsync` the kernel
//! may have dropped the dirty pages, and a retry that succeeds would claim
//! durability for data that is gone (PostgreSQL's "fsyncgate"). The disk
//! remembers the first failure ([`FileDisk::failure`]), does nothing more,
//! and the driver stops the node before any effect of the failed batch
//! goes out. A restart recovers from what the file holds.

use crate::error::RuntimeError;
use crate::fsutil;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::sealed::{DiskOp, StoredRecord};
use backup_vault::vault::storage::{Disk, Recovery};
use backup_vault::wire::disk::{decode_log, encode_record, DiskLimits, Tail};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The record log's file name in a node's `data/` folder.
pub const LOG_FILE: &str = "vault.log";

/// A node's record log on a file system. See the module documentation.
#[derive(Debug)]
pub struct FileDisk<C> {
    dir: PathBuf,
    file: Option<File>,
    /// The file's length: where the next append goes.
    len: u64,
    /// Where each record of the file ends, in order.
    ends: Vec<u64>,
    /// Appends written since the last sync.
    dirty: bool,
    failure: Option<String>,
    limits: DiskLimits,
    _crypto: PhantomData<fn() -> C>,
}

impl<C: VaultCrypto> FileDisk<C> {
    /// The disk in `dir` (created, mode 0700, if missing). Nothing is read
    /// until the node restarts from it ([`Disk::read`]).
    ///
    /// # Errors
    /// [`RuntimeError::File`] if the folder or the file cannot be opened.
    pub fn open(dir: &Path) -> Result<Self, RuntimeError> {
        fsutil::create_private_dir(dir)?;
        let mut disk = FileDisk {
            dir: dir.to_path_buf(),
            file: None,
            len: 0,
            ends: Vec::new(),
            dirty: false,
            failure: None,
            limits: DiskLimits::DEFAULT,
            _crypto: PhantomData,
        };
        disk.reopen()?;
        Ok(disk)
    }

    /// The log file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The first write or sync that failed, if one did: the node must stop.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    fn reopen(&mut self) -> Result<(), RuntimeError> {
        let path = self.path();
        let existed = path.try_exists().map_err(RuntimeError::file(&path))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(RuntimeError::file(&path))?;
        if !existed {
            // A new file's name must be durable in its folder before any
            // append to it is reported durable: `fdatasync` on the file
            // does not make its directory entry durable.
            fsutil::sync_dir(&self.dir)?;
        }
        self.len = file.metadata().map_err(RuntimeError::file(&path))?.len();
        self.file = Some(file);
        Ok(())
    }

    fn fail(&mut self, what: &str, e: impl std::fmt::Display) {
        if self.failure.is_none() {
            let msg = format!("{what} {}: {e}", self.path().display());
            tracing::error!(error = %msg, "disk failure; the node stops");
            self.failure = Some(msg);
        }
        self.file = None;
    }

    fn append(&mut self, record: &StoredRecord<C>) -> Range<usize> {
        let bytes = match encode_record(record, &self.limits) {
            Ok(b) => b,
            Err(e) => {
                self.fail("encoding a record for", e);
                return 0..0;
            }
        };
        let Some(file) = self.file.as_mut() else {
            return 0..0;
        };
        // The file is positioned at its end: opened or cut there.
        if let Err(e) = file.write_all(&bytes) {
            self.fail("appending to", e);
            return 0..0;
        }
        let start = self.len;
        self.len += bytes.len() as u64;
        self.ends.push(self.len);
        self.dirty = true;
        start as usize..self.len as usize
    }

    fn replace(&mut self, record: &StoredRecord<C>) -> Range<usize> {
        let bytes = match encode_record(record, &self.limits) {
            Ok(b) => b,
            Err(e) => {
                self.fail("encoding a snapshot for", e);
                return 0..0;
            }
        };
        // Pending appends are made durable first: the old file may still be
        // what a crash leaves, and it must hold what was acknowledged.
        self.flush();
        if self.failure.is_some() {
            return 0..0;
        }
        if let Err(e) = fsutil::write_atomic(&self.path(), &bytes, 0o600) {
            self.fail("replacing", e);
            return 0..0;
        }
        if let Err(e) = self.reopen().and_then(|()| self.seek_end()) {
            self.fail("reopening", e);
            return 0..0;
        }
        self.ends = vec![self.len];
        0..bytes.len()
    }

    fn seek_end(&mut self) -> Result<(), RuntimeError> {
        use std::io::{Seek, SeekFrom};
        let path = self.path();
        if let Some(file) = self.file.as_mut() {
            file.seek(SeekFrom::Start(self.len))
                .map_err(RuntimeError::file(path))?;
        }
        Ok(())
    }

    /// Cuts the file to `len` bytes, durably.
    fn cut(&mut self, len: u64) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if let Err(e) = file.set_len(len).and_then(|()| file.sync_all()) {
            self.fail("cutting", e);
            return;
        }
        self.len = len;
        if let Err(e) = self.seek_end() {
            self.fail("seeking in", e);
        }
    }
}

impl<C: VaultCrypto> Disk<C> for FileDisk<C> {
    fn persist(&mut self, op: &DiskOp<C>) -> Range<usize> {
        if self.failure.is_some() {
            return 0..0;
        }
        match op {
            DiskOp::Append(record) => self.append(record),
            DiskOp::Replace(record) => self.replace(record),
        }
    }

    fn read(&mut self) -> (Vec<StoredRecord<C>>, Recovery) {
        let mut bytes = Vec::new();
        let read = self.reopen().and_then(|()| {
            let path = self.path();
            let file = self.file.as_mut().expect("just opened");
            file.read_to_end(&mut bytes)
                .map_err(RuntimeError::file(path))
        });
        if let Err(e) = read {
            self.fail("reading", e);
            return (Vec::new(), Recovery::Clean);
        }
        let (records, tail) = decode_log::<StoredRecord<C>>(&bytes, &self.limits);
        let recovery = match &tail {
            Tail::Clean => Recovery::Clean,
            Tail::Torn { .. } => Recovery::TornTail,
            Tail::Corrupt(c) => Recovery::Corrupt { offset: c.offset },
        };
        let valid = tail.valid_len(bytes.len()) as u64;
        self.ends.clear();
        let mut at = 0u64;
        for record in &records {
            at += encode_record(record, &self.limits)
                .map(|b| b.len() as u64)
                .unwrap_or(0);
            self.ends.push(at);
        }
        if at == valid {
            self.cut(valid);
        } else {
            // The records were written in another (valid, non-canonical)
            // encoding, so their offsets are not known: write them again.
            let image: Vec<u8> = records
                .iter()
                .filter_map(|r| encode_record(r, &self.limits).ok())
                .flatten()
                .collect();
            if let Err(e) = fsutil::write_atomic(&self.path(), &image, 0o600)
                .and_then(|()| self.reopen())
                .and_then(|()| self.seek_end())
            {
                self.fail("rewriting", e);
            }
        }
        self.dirty = false;
        (records, recovery)
    }

    fn keep(&mut self, n: usize) {
        if n < self.ends.len() {
            let len = if n == 0 { 0 } else { self.ends[n - 1] };
            self.ends.truncate(n);
            self.cut(len);
        }
    }

    fn flush(&mut self) {
        if !self.dirty || self.failure.is_some() {
            return;
        }
        let Some(file) = self.file.as_ref() else {
            return;
        };
        if let Err(e) = file.sync_data() {
            self.fail("syncing", e);
            return;
        }
        self.dirty = false;
    }
}
