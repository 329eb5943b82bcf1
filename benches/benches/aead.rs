//! The AES-256-GCM candidates for the backup format's cipher, side by side
//! in one run: each seals the same buffer in place under one nonce.
//!
//! - `aws-lc-rs`: aws-lc (the format's default backend);
//! - `ring`: BoringSSL's assembly through ring;
//! - `aes-gcm-0.10`: RustCrypto, the format's portable reference backend;
//! - `aes-gcm-0.11`: RustCrypto's newer release.
//!
//! Groups `aead_64KiB` (the default chunk size) and `aead_16MiB` (the
//! largest). `cargo run -p backup-vault-benches --release --bin bench-report`
//! prints each against aws-lc.

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const KEY: [u8; 32] = [7; 32];
const NONCE: [u8; 12] = [9; 12];

fn bench_size(c: &mut Criterion, name: &str, len: usize) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(len as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let mut buf = vec![3u8; len];

    let aws = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &KEY).unwrap(),
    );
    group.bench_function("aws-lc-rs", |b| {
        b.iter(|| {
            let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(NONCE);
            aws.seal_in_place_separate_tag(nonce, aws_lc_rs::aead::Aad::empty(), &mut buf)
                .unwrap()
        })
    });

    let ring_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &KEY).unwrap(),
    );
    group.bench_function("ring", |b| {
        b.iter(|| {
            let nonce = ring::aead::Nonce::assume_unique_for_key(NONCE);
            ring_key
                .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), &mut buf)
                .unwrap()
        })
    });

    {
        use aes_gcm::aead::AeadInPlace;
        use aes_gcm::KeyInit;
        let aead = aes_gcm::Aes256Gcm::new(&KEY.into());
        group.bench_function("aes-gcm-0.10", |b| {
            b.iter(|| {
                aead.encrypt_in_place_detached(&NONCE.into(), b"", &mut buf)
                    .unwrap()
            })
        });
    }

    {
        use aes_gcm_011::aead::AeadInOut;
        use aes_gcm_011::KeyInit;
        let aead = aes_gcm_011::Aes256Gcm::new(&KEY.into());
        group.bench_function("aes-gcm-0.11", |b| {
            b.iter(|| {
                aead.encrypt_inout_detached(&NONCE.into(), b"", (&mut buf[..]).into())
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn candidates(c: &mut Criterion) {
    bench_size(c, "aead_64KiB", 64 << 10);
    bench_size(c, "aead_16MiB", 16 << 20);
}

criterion_group!(benches, candidates);
criterion_main!(benches);
