//! `bvault backup encrypt` and `bvault backup decrypt`.
//!
//! Both stream: memory is bounded by a few chunks per thread
//! ([`backup_vault::format::parallel::buffer_bound`]) and a 64 KiB output
//! buffer, whatever the file size, and a small file never gets buffers it cannot
//! fill. Output files appear only when complete
//! ([`crate::io_util::AtomicFile`]).

use crate::cli::{DecryptArgs, EncryptArgs, StreamArgs};
use crate::exit::{CliError, Exit};
use crate::io_util::{check_output, input_name, is_stdio, open_input, output_name, Output};
use crate::keyfile;
use crate::progress::{self, CountingReader};
use backup_vault::format::parallel::{decrypt_parallel, encrypt_parallel};
use backup_vault::format::{BackupError, BackupParams, DecryptOptions, Decryptor, Generation};
use backup_vault::key::BackupKey;
use rand_core::OsRng;
use std::io::Read;
use std::num::NonZeroUsize;
use std::path::Path;

/// Runs `bvault backup encrypt`.
pub fn encrypt(args: &EncryptArgs) -> Result<(), CliError> {
    let common = &args.common;
    let key = preflight(common)?;
    let (input, len) = open_input(&common.input, "input")?;
    let bar = progress::bar(len, common.quiet, "encrypting");
    let mut reader = CountingReader::new(input, bar.clone());
    let params = BackupParams::new(&mut OsRng, Generation(args.generation), args.chunk_size);
    let threads = resolve_threads(common.threads);
    let in_name = input_name(&common.input);
    let mut output = Output::create(&common.output, common.force, false)?;

    // Every thread count runs the pipeline: even on one thread it reads each
    // run of chunks straight into the buffer it is sealed in, and writes it
    // in one call, with no copy through a separate read buffer.
    let mut reader = ReadErrors::new(&mut reader);
    let result = encrypt_parallel(&key, &params, &mut reader, &mut output, threads);
    bar.finish_and_clear();
    match result {
        Ok(_) => output.commit(),
        Err(BackupError::Io(err)) if reader.failed => {
            Err(CliError::io(format!("cannot read {in_name}"), &err))
        }
        Err(err) => Err(encrypt_error(&in_name, &err)),
    }
}

/// A reader that remembers whether reading failed, so that an I/O error
/// from the pipeline can be told apart from one of the output.
struct ReadErrors<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> ReadErrors<R> {
    fn new(inner: R) -> Self {
        ReadErrors {
            inner,
            failed: false,
        }
    }
}

impl<R: Read> Read for ReadErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let result = self.inner.read(buf);
        if let Err(err) = &result {
            self.failed |= err.kind() != std::io::ErrorKind::Interrupted;
        }
        result
    }
}

/// While encrypting, the only non-I/O error is too many chunks for the chunk
/// size: a problem with the arguments, not with any data.
fn encrypt_error(in_name: &str, err: &BackupError) -> CliError {
    match err {
        BackupError::TooManyChunks => {
            CliError::with_exit(Exit::Usage, format!("cannot encrypt {in_name}: {err}"))
        }
        _ => CliError::backup(format!("cannot encrypt {in_name}"), err),
    }
}

/// Runs `bvault backup decrypt`.
pub fn decrypt(args: &DecryptArgs) -> Result<(), CliError> {
    let common = &args.common;
    let key = preflight(common)?;
    let (input, len) = open_input(&common.input, "input")?;
    let bar = progress::bar(len, common.quiet, "decrypting");
    let mut reader = CountingReader::new(input, bar.clone());
    let threads = resolve_threads(common.threads);
    let in_name = input_name(&common.input);
    let context = format!("cannot decrypt {in_name}");

    let result = if threads.get() > 1 {
        let mut output = Output::create(&common.output, common.force, true)?;
        decrypt_parallel(
            &key,
            &mut reader,
            &mut output,
            &DecryptOptions::default(),
            threads,
        )
        .map(|_| output)
    } else {
        // The header and first chunk are checked before the output is
        // created, so a wrong key or a damaged header touches no file.
        match Decryptor::new(&key, &mut reader) {
            Ok(mut dec) => {
                let mut output = Output::create(&common.output, common.force, true)?;
                dec.decrypt_to(&mut output).map(|_| output)
            }
            Err(err) => Err(err),
        }
    };
    bar.finish_and_clear();
    match result {
        // Dropping an uncommitted output deletes its temporary file.
        Ok(output) => output.commit(),
        Err(err) => Err(decrypt_failure(
            &context,
            &err,
            &common.output,
            common.force,
        )),
    }
}

fn decrypt_failure(context: &str, err: &BackupError, out: &Path, force: bool) -> CliError {
    let error = CliError::backup(context, err);
    if is_stdio(out) {
        return error.note(
            "plaintext of the chunks that verified before the failure was already written to standard output",
        );
    }
    let out_name = output_name(out);
    if force && out.exists() {
        error.note(format!("{out_name} was left as it was"))
    } else {
        error.note(format!("no output was written: {out_name} was not created"))
    }
}

/// Refuses an existing output and reads the key: the checks that need no
/// input data, done before reading any.
fn preflight(common: &StreamArgs) -> Result<BackupKey, CliError> {
    if is_stdio(&common.key_file) && is_stdio(&common.input) {
        return Err(CliError::usage(
            "the key file and the input cannot both be standard input",
        ));
    }
    check_output(&common.output, common.force)?;
    keyfile::load(&common.key_file)
}

/// `--threads 0` means one thread per core.
fn resolve_threads(threads: usize) -> NonZeroUsize {
    NonZeroUsize::new(threads)
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
}
