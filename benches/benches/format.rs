//! Backup format throughput next to raw AES-256-GCM on the same buffers.
//!
//! Groups `format_1MiB` and `format_256MiB` each hold:
//! - `raw_aes256gcm`: one in-place seal of the whole buffer by the format's
//!   default backend (aws-lc), the ceiling the format is compared with;
//! - `raw_rustcrypto`: the same with the portable reference backend
//!   (RustCrypto `aes-gcm` 0.10);
//! - `encrypt` / `decrypt`: the in-memory API (`format::encrypt_into` /
//!   `decrypt_into`: each chunk copied or opened straight into its place),
//!   single core;
//! - `encrypt_in_place` / `decrypt_in_place`: the in-place API (no second
//!   buffer), single core;
//! - `encrypt_stream` / `decrypt_stream`: the streaming [`Encryptor`] /
//!   [`Decryptor`] writing into a `Vec`, single core;
//! - `encrypt_parallel/N` / `decrypt_parallel/N`: the pipeline on 1 and 2
//!   threads, reading from a slice and writing into a `Vec`.
//!
//! `cargo run -p backup-vault-benches --release --bin bench-report` prints
//! GB/s, the format/raw ratios and the 2-thread/1-thread ratios.

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use aws_lc_rs::aead::{Aad, LessSafeKey, UnboundKey, AES_256_GCM};
use backup_vault::format::{
    parallel, BackupParams, ChunkSize, DecryptOptions, Decryptor, Encryptor, Generation,
};
use backup_vault::BackupKey;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Duration;

fn setup(len: usize) -> (BackupKey, BackupParams, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = BackupKey::generate(&mut rng);
    let params = BackupParams::new(&mut rng, Generation(1), ChunkSize::DEFAULT);
    let mut data = vec![0u8; len];
    rng.fill_bytes(&mut data);
    (key, params, data)
}

fn bench_size(c: &mut Criterion, name: &str, len: usize, samples: usize) {
    let (key, params, data) = setup(len);
    let file = backup_vault::format::encrypt(&key, &params, &data);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(len as u64));
    group.sample_size(samples);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(if len > (64 << 20) { 12 } else { 4 }));

    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose_secret()).unwrap());
    let mut buf = data.clone();
    group.bench_function("raw_aes256gcm", |b| {
        b.iter(|| {
            let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key([7; 12]);
            raw.seal_in_place_separate_tag(nonce, Aad::empty(), &mut buf)
                .unwrap()
        })
    });
    let reference = Aes256Gcm::new(key.expose_secret().into());
    group.bench_function("raw_rustcrypto", |b| {
        b.iter(|| {
            let tag = reference
                .encrypt_in_place_detached(Nonce::from_slice(&[7; 12]), b"", &mut buf)
                .unwrap();
            std::hint::black_box(tag);
        })
    });

    let mut out = Vec::with_capacity(file.len());
    group.bench_function("encrypt", |b| {
        b.iter(|| {
            out.clear();
            backup_vault::format::encrypt_into(&key, &params, &data, &mut out);
        })
    });
    let mut plain = Vec::with_capacity(len);
    let options = DecryptOptions::default();
    group.bench_function("decrypt", |b| {
        b.iter(|| {
            plain.clear();
            backup_vault::format::decrypt_into(&key, &file, &options, &mut plain).unwrap();
        })
    });
    group.bench_function("encrypt_in_place", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |buf| backup_vault::format::encrypt_in_place(&key, &params, buf),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decrypt_in_place", |b| {
        b.iter_batched_ref(
            || file.clone(),
            |buf| backup_vault::format::decrypt_in_place(&key, buf, &options).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("encrypt_stream", |b| {
        b.iter(|| {
            out.clear();
            let mut enc = Encryptor::new(&key, &params, &mut out).unwrap();
            enc.write_all(&data).unwrap();
            enc.finish().unwrap();
        })
    });
    group.bench_function("decrypt_stream", |b| {
        b.iter(|| {
            plain.clear();
            let mut dec = Decryptor::new(&key, &file[..]).unwrap();
            dec.decrypt_to(&mut plain).unwrap();
        })
    });
    for threads in [1, 2] {
        let n = NonZeroUsize::new(threads).unwrap();
        group.bench_function(BenchmarkId::new("encrypt_parallel", threads), |b| {
            b.iter(|| {
                out.clear();
                parallel::encrypt_parallel(&key, &params, &data[..], &mut out, n).unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("decrypt_parallel", threads), |b| {
            b.iter(|| {
                plain.clear();
                parallel::decrypt_parallel(&key, &file[..], &mut plain, &options, n).unwrap();
            })
        });
    }
    group.finish();
}

fn format_throughput(c: &mut Criterion) {
    backup_vault::cpu::check().expect("CPU check");
    eprintln!("accelerated paths: {}", backup_vault::cpu::report());
    bench_size(c, "format_1MiB", 1 << 20, 50);
    bench_size(c, "format_256MiB", 256 << 20, 10);
}

criterion_group!(benches, format_throughput);
criterion_main!(benches);
