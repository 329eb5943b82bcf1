//! The cipher seam: AES-256-GCM behind one small interface, with two backends.
//!
//! - [`Backend::AwsLc`] (the default): aws-lc through `aws-lc-rs`. CTR and
//!   GHASH run in one fused pass, on VAES with AVX-512 or AVX2 where the CPU
//!   has them (picked at run time), else on AES-NI and PCLMULQDQ.
//! - [`Backend::RustCrypto`]: RustCrypto's `aes-gcm` 0.10, pure Rust. The
//!   portable reference: tests and the `backends` fuzz target check that both
//!   backends give byte-identical files and identical errors.
//!
//! The interface is shaped by the one behaviour the backends do not share:
//! when a tag fails, aws-lc wipes the buffer it decrypted into, while
//! `aes-gcm` checks the tag first and leaves it alone. The finality rule
//! (`docs/format.md` 6.4) needs the ciphertext again after a failed attempt,
//! so opening is always out of place ([`Aead::open_into`]): the ciphertext
//! stays intact, and the output is wiped on failure by either backend.

use super::nonce::NONCE_LEN;
use super::TAG_LEN;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::Zeroize;

/// Which implementation of AES-256-GCM seals and opens a backup's chunks.
/// The choice never changes a byte of any file, nor any error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// aws-lc, through `aws-lc-rs`: the fastest measured on x86-64 (README,
    /// "Performance"). The default.
    #[default]
    AwsLc,
    /// RustCrypto's `aes-gcm` 0.10, pure Rust: the portable reference.
    RustCrypto,
}

impl Backend {
    /// Every backend, for cross-checks.
    pub const ALL: [Backend; 2] = [Backend::AwsLc, Backend::RustCrypto];

    /// A short name for reports and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Backend::AwsLc => "aws-lc",
            Backend::RustCrypto => "rustcrypto-aes-gcm",
        }
    }
}

/// One AES-256-GCM key, ready to seal and open.
///
/// Key schedules are wiped on drop: `aes-gcm` zeroizes its own (the
/// `zeroize` feature), and aws-lc's context lives in memory that
/// `OPENSSL_free` cleanses before freeing it.
pub(crate) enum Aead {
    AwsLc(LessSafeKey),
    RustCrypto(Box<Aes256Gcm>),
}

impl Aead {
    pub(crate) fn new(backend: Backend, key: &[u8; 32]) -> Aead {
        match backend {
            Backend::AwsLc => {
                let unbound =
                    UnboundKey::new(&AES_256_GCM, key).expect("AES-256-GCM takes a 32-byte key");
                Aead::AwsLc(LessSafeKey::new(unbound))
            }
            Backend::RustCrypto => Aead::RustCrypto(Box::new(Aes256Gcm::new(key.into()))),
        }
    }

    /// Encrypts `buf` in place; returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        match self {
            Aead::AwsLc(key) => {
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(*nonce),
                        Aad::from(aad),
                        buf,
                    )
                    .expect("a chunk is far below AES-GCM's per-message limit");
                tag.as_ref().try_into().expect("AES-GCM tags are 16 bytes")
            }
            Aead::RustCrypto(aead) => aead
                .encrypt_in_place_detached(nonce.into(), aad, buf)
                .expect("a chunk is far below AES-GCM's per-message limit")
                .into(),
        }
    }

    /// Encrypts `plaintext` into `out`, which must be exactly as long;
    /// returns the tag. One pass: the copy is fused with the cipher.
    pub(crate) fn seal_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> [u8; TAG_LEN] {
        debug_assert_eq!(plaintext.len(), out.len());
        match self {
            Aead::AwsLc(key) => {
                let mut tag = [0u8; TAG_LEN];
                key.seal_out_of_place_scatter(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    plaintext,
                    out,
                    &[],
                    &mut tag,
                )
                .expect("a chunk is far below AES-GCM's per-message limit");
                tag
            }
            Aead::RustCrypto(_) => {
                out.copy_from_slice(plaintext);
                self.seal_in_place(nonce, aad, out)
            }
        }
    }

    /// Verifies `ciphertext` against `tag` and decrypts it into `out`, which
    /// must be exactly as long. Returns whether the tag verified. The
    /// ciphertext is never touched; on failure `out` is wiped.
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        debug_assert_eq!(ciphertext.len(), out.len());
        let verified = match self {
            Aead::AwsLc(key) => key
                .open_separate_gather(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    ciphertext,
                    tag,
                    out,
                )
                .is_ok(),
            Aead::RustCrypto(aead) => {
                out.copy_from_slice(ciphertext);
                aead.decrypt_in_place_detached(nonce.into(), aad, out, tag.into())
                    .is_ok()
            }
        };
        if !verified {
            out.zeroize();
        }
        verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST's AES-256-GCM test case 15 (the GCM specification, McGrew and
    /// Viega): both backends must reproduce it.
    #[test]
    fn both_backends_match_the_gcm_spec_vector() {
        let key: [u8; 32] =
            hex::decode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = hex::decode("cafebabefacedbaddecaf888")
            .unwrap()
            .try_into()
            .unwrap();
        let plaintext = hex::decode(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        )
        .unwrap();
        let ciphertext = hex::decode(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        )
        .unwrap();
        let tag = hex::decode("b094dac5d93471bdec1a502270e3cc6c").unwrap();
        for backend in Backend::ALL {
            let aead = Aead::new(backend, &key);
            let mut buf = plaintext.clone();
            let sealed = aead.seal_in_place(&nonce, b"", &mut buf);
            assert_eq!(buf, ciphertext, "{backend:?}");
            assert_eq!(&sealed[..], &tag[..], "{backend:?}");
            let mut out = vec![0u8; buf.len()];
            assert!(aead.open_into(&nonce, b"", &buf, &sealed, &mut out));
            assert_eq!(out, plaintext, "{backend:?}");
            let mut copy = vec![0u8; plaintext.len()];
            let sealed = aead.seal_into(&nonce, b"", &plaintext, &mut copy);
            assert_eq!(copy, ciphertext, "{backend:?}");
            assert_eq!(&sealed[..], &tag[..], "{backend:?}");
        }
    }

    #[test]
    fn a_failed_open_wipes_the_output_and_keeps_the_ciphertext() {
        for backend in Backend::ALL {
            let aead = Aead::new(backend, &[5; 32]);
            let mut sealed = *b"sixteen bytes!!!";
            let tag = aead.seal_in_place(&[1; 12], b"ad", &mut sealed);
            let copy = sealed;
            let mut out = [0xAA; 16];
            assert!(!aead.open_into(&[2; 12], b"ad", &sealed, &tag, &mut out));
            assert_eq!(out, [0; 16], "{backend:?}: output not wiped");
            assert_eq!(sealed, copy, "{backend:?}: ciphertext touched");
            assert!(aead.open_into(&[1; 12], b"ad", &sealed, &tag, &mut out));
            assert_eq!(&out, b"sixteen bytes!!!");
        }
    }
}
