//! The two secrets an OPAQUE run produces: the export key and the session key.
//!
//! Both are 64 bytes (SHA-512 outputs), wiped on drop, compared in constant
//! time and redacted in `Debug`. Neither ever leaves the party that computed it.

use core::fmt;
use opaque_ke::generic_array::{ArrayLength, GenericArray};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of [`ExportKey`] and [`SessionKey`] in bytes.
pub const SECRET_LEN: usize = 64;

macro_rules! secret_64 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; SECRET_LEN]);

        impl $name {
            /// Wraps raw bytes (tests and fuzzing). The caller wipes its own copy.
            pub fn from_bytes(bytes: &[u8; SECRET_LEN]) -> Self {
                $name(*bytes)
            }

            /// The raw bytes. Named so that every use of the secret is easy to find.
            pub fn expose_secret(&self) -> &[u8; SECRET_LEN] {
                &self.0
            }

            /// Takes the bytes out of an opaque-ke output and wipes the output.
            pub(crate) fn take<L: ArrayLength<u8>>(mut out: GenericArray<u8, L>) -> Self {
                let mut key = $name([0u8; SECRET_LEN]);
                // opaque-ke's SHA-512 suite outputs exactly 64 bytes; a shorter
                // or longer output would be a suite change, caught by the tests.
                let n = out.len().min(SECRET_LEN);
                debug_assert_eq!(out.len(), SECRET_LEN);
                key.0[..n].copy_from_slice(&out[..n]);
                out.as_mut_slice().zeroize();
                key
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_64! {
    /// OPAQUE's export key: known only to the client, and only after it has
    /// opened its envelope with the right password. Identical at registration
    /// and at every later login with the same password and record. It keys the
    /// wrapping of K ([`super::wrap`]); the vault never sees it.
    ExportKey
}

secret_64! {
    /// The key both sides share after a successful login (client finish and
    /// server finish agree on it only if the password was right and neither
    /// message was altered). It keys the session seal of [`super::wrap`].
    SessionKey
}
