//! CPU cost of one OPAQUE login and one registration, split by side.
//!
//! Groups `login_cheap` and `login_realistic` (the KSF at `KsfParams::CHEAP`
//! and `KsfParams::REALISTIC`) hold (the server figures only in `login_cheap`,
//! since the vault never runs the KSF and its cost does not depend on it):
//! - `client`: `client::login_start` + `client::login_finish` (the KSF runs here);
//! - `server`: `server::login_start` + `server::login_finish` (no KSF; this is
//!   what one login costs a vault node's HSM, consensus not included);
//! - `registration_client`: `client::registration_start` + `registration_finish`;
//! - `registration_server`: `server::registration_start` + `registration_finish`.
//!
//! Each iteration times only its own side's calls (`iter_custom`); the other
//! side's steps run untimed in between, so the two figures add up to one login.

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use backup_vault::opaque::client::{self, ClientConfig};
use backup_vault::opaque::{server, FleetSecrets, KsfParams, PasswordFile};
use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::hint::black_box;
use std::time::{Duration, Instant};

const USER: &[u8] = b"bench user";
const PASSWORD: &[u8] = b"correct horse battery staple";

struct Setup {
    rng: ChaCha20Rng,
    fleet: FleetSecrets,
    config: ClientConfig,
    record: PasswordFile,
}

fn setup(ksf: KsfParams) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let fleet = FleetSecrets::generate(&mut rng);
    let config = ClientConfig {
        fleet_key: fleet.public_key(),
        ksf,
    };
    let start = client::registration_start(&mut rng, USER, PASSWORD).unwrap();
    let response = server::registration_start(&fleet, USER, &start.request).unwrap();
    let done =
        client::registration_finish(&mut rng, start.state, PASSWORD, &response, &config).unwrap();
    let record = server::registration_finish(done.upload);
    Setup {
        rng,
        fleet,
        config,
        record,
    }
}

/// Runs one full login; returns (client time, server time).
fn timed_login(s: &mut Setup) -> (Duration, Duration) {
    let t = Instant::now();
    let start = client::login_start(&mut s.rng, USER, PASSWORD).unwrap();
    let mut client_time = t.elapsed();

    let t = Instant::now();
    let vault =
        server::login_start(&mut s.rng, &s.fleet, USER, USER, &s.record, &start.ke1).unwrap();
    let mut server_time = t.elapsed();

    let t = Instant::now();
    let done =
        client::login_finish(&mut s.rng, start.state, PASSWORD, &vault.ke2, &s.config).unwrap();
    client_time += t.elapsed();

    let t = Instant::now();
    let session = server::login_finish(vault.state, &done.ke3).unwrap();
    server_time += t.elapsed();

    black_box((session, done));
    (client_time, server_time)
}

/// Runs one full registration; returns (client time, server time).
fn timed_registration(s: &mut Setup) -> (Duration, Duration) {
    let t = Instant::now();
    let start = client::registration_start(&mut s.rng, USER, PASSWORD).unwrap();
    let mut client_time = t.elapsed();

    let t = Instant::now();
    let response = server::registration_start(&s.fleet, USER, &start.request).unwrap();
    let mut server_time = t.elapsed();

    let t = Instant::now();
    let done = client::registration_finish(&mut s.rng, start.state, PASSWORD, &response, &s.config)
        .unwrap();
    client_time += t.elapsed();

    let t = Instant::now();
    let record = server::registration_finish(done.upload);
    server_time += t.elapsed();

    black_box((record, done.export_key));
    (client_time, server_time)
}

fn bench_ksf(c: &mut Criterion, name: &str, ksf: KsfParams, samples: usize, server_too: bool) {
    let mut s = setup(ksf);
    let mut group = c.benchmark_group(name);
    group.sample_size(samples);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(if samples <= 10 { 8 } else { 4 }));

    group.bench_function("client", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| timed_login(&mut s).0).sum())
    });
    group.bench_function("registration_client", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| timed_registration(&mut s).0).sum())
    });
    if server_too {
        group.bench_function("server", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| timed_login(&mut s).1).sum())
        });
        group.bench_function("registration_server", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| timed_registration(&mut s).1).sum())
        });
    }
    group.finish();
}

fn login(c: &mut Criterion) {
    bench_ksf(c, "login_cheap", KsfParams::CHEAP, 50, true);
    // The server never runs the KSF, so its cost is the same at every KSF
    // setting; timing it here would spend seconds of untimed client KSF work
    // per millisecond measured.
    bench_ksf(c, "login_realistic", KsfParams::REALISTIC, 10, false);
}

criterion_group!(benches, login);
criterion_main!(benches);
