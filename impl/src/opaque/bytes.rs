//! Helpers shared by the byte newtypes: length checks, serde as bytes, hex.

use super::error::DecodeError;
use core::fmt;
use core::marker::PhantomData;
use serde::de::{self, SeqAccess, Visitor};
use zeroize::Zeroizing;

/// A value with exactly one byte encoding, decoded with validation.
pub(crate) trait Encoded: Sized {
    /// What the value is, for error messages.
    const WHAT: &'static str;
    /// Decodes and validates. Never panics.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
    /// The encoding.
    fn encoding(&self) -> &[u8];
}

/// Copies `bytes` into an array, or says which length was expected.
pub(crate) fn fixed<const N: usize>(
    what: &'static str,
    bytes: &[u8],
) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::WrongLength {
        what,
        expected: N,
        actual: bytes.len(),
    })
}

/// Lowercase hex, for `Display` of public values.
pub(crate) fn hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str(&::hex::encode(bytes))
}

/// Serde support: every newtype is serialized as one byte string and
/// deserialized through its validating decoder.
macro_rules! serde_as_bytes {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes($crate::opaque::bytes::Encoded::encoding(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_bytes($crate::opaque::bytes::BytesVisitor::<$t>::new())
            }
        }
    };
}
pub(crate) use serde_as_bytes;

/// The serde visitor behind [`serde_as_bytes`]. Accepts a byte string or a
/// sequence of bytes (for formats such as JSON), bounded in length.
pub(crate) struct BytesVisitor<T>(PhantomData<T>);

/// No encoded value of this module is longer; a longer sequence is refused
/// before it is buffered.
const MAX_SEQ_LEN: usize = 1024;

impl<T> BytesVisitor<T> {
    pub(crate) fn new() -> Self {
        BytesVisitor(PhantomData)
    }
}

impl<'de, T: Encoded> Visitor<'de> for BytesVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the byte encoding of {}", T::WHAT)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<T, E> {
        T::decode(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut buf = Zeroizing::new(Vec::with_capacity(
            seq.size_hint().unwrap_or(0).min(MAX_SEQ_LEN),
        ));
        while let Some(b) = seq.next_element::<u8>()? {
            if buf.len() == MAX_SEQ_LEN {
                return Err(de::Error::custom(format!("{}: too many bytes", T::WHAT)));
            }
            buf.push(b);
        }
        T::decode(&buf).map_err(de::Error::custom)
    }
}
