//! The targets' checks catch real defects: with the library's deliberate
//! `SkipLastChunkFlag` flaw switched on, a backup cut at a chunk boundary
//! decrypts to a prefix of its plaintext, and `roundtrip` must report that
//! as an FMT-1 violation. (Without this, a check that can never fail would
//! look the same as a library without bugs.)

use backup_vault::flaws::FormatFlaw;
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::TAG_LEN;
use backup_vault_fuzz::targets::{
    check_roundtrip, check_roundtrip_with, decrypt_options, Mutation, OtherBackup, RoundtripInput,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn roundtrip_reports_a_truncation_that_decrypts_as_fmt1() {
    let plaintext = [7u8; 100];
    let chunk = 16; // chunk_size 15 maps to 16 bytes
    let input = RoundtripInput {
        plaintext: &plaintext,
        pad_to: 0,
        chunk_size: 15,
        generation: 1,
        rng_seed: [1; 32],
        other: OtherBackup {
            plaintext: b"",
            same_shape: true,
            chunk_size: 0,
            generation: 0,
        },
        // Cut right after the second chunk.
        mutations: vec![Mutation::Truncate {
            at: (HEADER_LEN + 2 * (chunk + TAG_LEN)) as u32,
        }],
    };
    // The real library rejects the cut file.
    check_roundtrip(&input);

    let flaw = FormatFlaw::SkipLastChunkFlag;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        check_roundtrip_with(
            &input,
            |params| params.with_flaw(flaw),
            &decrypt_options().with_flaw(flaw),
        )
    }));
    let payload = outcome.expect_err("the flawed library passed the roundtrip checks");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains("FMT-1"), "unexpected panic: {message}");
}
