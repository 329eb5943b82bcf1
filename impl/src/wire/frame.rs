//! One frame: an 8-byte header, then a postcard body of the declared length.
//!
//! ```text
//! offset size field
//!      0    2 magic     89 56  ("\x89V")
//!      2    1 version   1
//!      3    1 kind      1 = ClientRequest, 2 = ClientResponse, 3 = PeerMessage,
//!                       4 = PeerHello, 5 = CloudRequest, 6 = CloudResponse
//!      4    4 body_len  u32 big-endian; at most the limit for the kind
//!      8    n body      postcard encoding of the message, exactly body_len bytes
//! ```
//!
//! A decoder checks the header bytes in order, as soon as each is present:
//! magic, version, kind, then the length against the kind's limit, all
//! before a byte of the body is buffered or allocated. A prefix of a valid
//! frame is [`WireError::Incomplete`]; anything else that is wrong is an
//! error from which a stream cannot recover. The body must decode to
//! exactly one value and use every byte: leftover bytes are
//! [`WireError::TrailingBytes`]. Encodings are still not unique (postcard
//! reads overlong varints), so nothing may key on the bytes of a frame.
//!
//! Frames carry no checksum or MAC. Integrity and secrecy of the channel are
//! the transport's job, and the protocol treats the network as hostile
//! anyway (OPAQUE and proofs of key authenticate what matters).

use super::error::WireError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The two magic bytes that open every frame.
pub const MAGIC: [u8; 2] = [0x89, b'V'];
/// The only wire version this build reads and writes.
pub const VERSION: u8 = 3;
/// Length of the frame header in bytes.
pub const HEADER_LEN: usize = 8;
/// Default body limit for client frames: 4 MiB.
pub const DEFAULT_MAX_BODY: u32 = 4 << 20;
/// Default body limit for peer frames: 64 MiB, since `InstallSnapshot`
/// carries a whole record store.
pub const DEFAULT_MAX_PEER_BODY: u32 = 64 << 20;

/// What a frame's body is. The byte values are part of the wire format.
///
/// New kinds may be added without a version bump: a receiver that does not
/// know a kind rejects the frame with [`WireError::UnknownKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A [`crate::vault::protocol::ClientRequest`], client to vault.
    ClientRequest,
    /// A [`crate::vault::protocol::ClientResponse`], vault to client.
    ClientResponse,
    /// A [`crate::vault::node::VaultPeerMessage`], vault node to vault node.
    PeerMessage,
    /// A [`super::PeerHello`]: the first frame a vault node sends on a
    /// connection it opened to another, saying who it is.
    PeerHello,
    /// A cloud store operation, client to cloud service (the runtime's
    /// `backup_vault_runtime::cloud` defines the body).
    CloudRequest,
    /// A cloud store answer, cloud service to client.
    CloudResponse,
}

impl Kind {
    /// Every kind this build knows.
    pub const ALL: [Kind; 6] = [
        Kind::ClientRequest,
        Kind::ClientResponse,
        Kind::PeerMessage,
        Kind::PeerHello,
        Kind::CloudRequest,
        Kind::CloudResponse,
    ];

    /// The kind's byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Kind::ClientRequest => 1,
            Kind::ClientResponse => 2,
            Kind::PeerMessage => 3,
            Kind::PeerHello => 4,
            Kind::CloudRequest => 5,
            Kind::CloudResponse => 6,
        }
    }

    /// The kind a byte names, if this build knows it.
    pub fn from_byte(byte: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.to_byte() == byte)
    }

    /// Whether frames of this kind travel between vault nodes (and so fall
    /// under [`FrameLimits::max_peer_body`]).
    pub fn is_peer(self) -> bool {
        matches!(self, Kind::PeerMessage | Kind::PeerHello)
    }
}

/// Body size limits, checked against the header before anything is buffered.
///
/// A connection from clients should use [`FrameLimits::CLIENT`], which
/// admits no peer frames at all (their limit is 0, and no peer message has
/// an empty encoding), so a client cannot make a node buffer 64 MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameLimits {
    /// Largest body of a client request or response.
    pub max_body: u32,
    /// Largest body of a peer message.
    pub max_peer_body: u32,
}

impl FrameLimits {
    /// 4 MiB for client frames, 64 MiB for peer frames.
    pub const DEFAULT: FrameLimits = FrameLimits {
        max_body: DEFAULT_MAX_BODY,
        max_peer_body: DEFAULT_MAX_PEER_BODY,
    };
    /// 4 MiB for client frames; peer frames refused.
    pub const CLIENT: FrameLimits = FrameLimits {
        max_body: DEFAULT_MAX_BODY,
        max_peer_body: 0,
    };

    /// The body limit for `kind`.
    pub fn max_body_for(&self, kind: Kind) -> u32 {
        if kind.is_peer() {
            self.max_peer_body
        } else {
            self.max_body
        }
    }

    /// The longest frame (header included) these limits admit.
    pub fn max_frame_len(&self) -> usize {
        HEADER_LEN + self.max_body.max(self.max_peer_body) as usize
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits::DEFAULT
    }
}

/// A validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The message kind.
    pub kind: Kind,
    /// The body length, within the limit for `kind`.
    pub body_len: u32,
}

impl FrameHeader {
    /// Length of the whole frame, header included.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.body_len as usize
    }

    /// The header's 8 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..2].copy_from_slice(&MAGIC);
        b[2] = VERSION;
        b[3] = self.kind.to_byte();
        b[4..].copy_from_slice(&self.body_len.to_be_bytes());
        b
    }
}

/// Parses the header at the start of `bytes`, which may be shorter than a
/// header. Each present byte is checked, so garbage is rejected as early as
/// possible.
///
/// # Errors
/// `BadMagic`, `UnsupportedVersion`, `UnknownKind`, `Oversize` (from the
/// length field alone), or `Incomplete` if fewer than [`HEADER_LEN`] bytes are
/// given and all of them are valid.
pub fn parse_header(bytes: &[u8], limits: &FrameLimits) -> Result<FrameHeader, WireError> {
    for (offset, (&found, &want)) in bytes.iter().zip(MAGIC.iter()).enumerate() {
        if found != want {
            return Err(WireError::BadMagic { offset, found });
        }
    }
    if let Some(&version) = bytes.get(2) {
        if version != VERSION {
            return Err(WireError::UnsupportedVersion { version });
        }
    }
    let kind = match bytes.get(3) {
        Some(&b) => Some(Kind::from_byte(b).ok_or(WireError::UnknownKind { kind: b })?),
        None => None,
    };
    let (Some(kind), Some(len)) = (kind, bytes.get(4..HEADER_LEN)) else {
        return Err(WireError::Incomplete {
            needed: HEADER_LEN - bytes.len(),
        });
    };
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(len);
    let body_len = u32::from_be_bytes(len_bytes);
    let limit = limits.max_body_for(kind);
    if body_len > limit {
        return Err(WireError::Oversize {
            kind,
            len: u64::from(body_len),
            limit,
        });
    }
    Ok(FrameHeader { kind, body_len })
}

/// A complete frame found at the start of a byte slice, body not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawFrame<'a> {
    /// The message kind.
    pub kind: Kind,
    /// The body: exactly the declared length.
    pub body: &'a [u8],
    /// Bytes of the slice the frame occupies, header included.
    pub consumed: usize,
}

/// Finds the frame at the start of `bytes`; bytes after it are not looked at.
///
/// # Errors
/// As [`parse_header`]; `Incomplete` if the body is not all there.
pub fn split_frame<'a>(bytes: &'a [u8], limits: &FrameLimits) -> Result<RawFrame<'a>, WireError> {
    let header = parse_header(bytes, limits)?;
    let end = header.frame_len();
    match bytes.get(HEADER_LEN..end) {
        Some(body) => Ok(RawFrame {
            kind: header.kind,
            body,
            consumed: end,
        }),
        None => Err(WireError::Incomplete {
            needed: end - bytes.len(),
        }),
    }
}

/// Decodes a body of `kind` as a `T`, which must use every byte.
///
/// # Errors
/// `Body` if postcard rejects it, `TrailingBytes` if bytes are left over.
pub fn decode_body<T: DeserializeOwned>(kind: Kind, body: &[u8]) -> Result<T, WireError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|error| WireError::Body { kind, error })?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes {
            kind,
            extra: rest.len(),
        });
    }
    Ok(value)
}

/// Frames `value` as a message of `kind`.
///
/// # Errors
/// `Oversize` if the body is over `limits` for `kind` (a receiver with the
/// same limits would refuse it); `Encode` if serialization fails.
pub fn encode_frame<T: Serialize + ?Sized>(
    kind: Kind,
    value: &T,
    limits: &FrameLimits,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    let mut out =
        postcard::to_extend(value, out).map_err(|error| WireError::Encode { kind, error })?;
    let body_len = out.len() - HEADER_LEN;
    let limit = limits.max_body_for(kind);
    let body_len = u32::try_from(body_len)
        .ok()
        .filter(|&len| len <= limit)
        .ok_or(WireError::Oversize {
            kind,
            len: body_len as u64,
            limit,
        })?;
    out[..HEADER_LEN].copy_from_slice(&FrameHeader { kind, body_len }.to_bytes());
    Ok(out)
}

/// Decodes the frame at the start of `bytes` as a `T`, whatever its kind.
/// Returns the kind, the value and the number of bytes the frame occupies;
/// bytes after the frame are not looked at.
///
/// Never panics, and allocates nothing for a header whose length is over
/// the limit.
///
/// # Errors
/// As [`split_frame`] and [`decode_body`].
pub fn decode_frame<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &FrameLimits,
) -> Result<(Kind, T, usize), WireError> {
    let raw = split_frame(bytes, limits)?;
    let value = decode_body(raw.kind, raw.body)?;
    Ok((raw.kind, value, raw.consumed))
}

/// As [`decode_frame`], but the frame must be of kind `expected`; the body
/// is not decoded otherwise.
///
/// # Errors
/// `UnexpectedKind`, or as [`decode_frame`].
pub fn decode_frame_of<T: DeserializeOwned>(
    expected: Kind,
    bytes: &[u8],
    limits: &FrameLimits,
) -> Result<(T, usize), WireError> {
    let raw = split_frame(bytes, limits)?;
    if raw.kind != expected {
        return Err(WireError::UnexpectedKind {
            expected,
            found: raw.kind,
        });
    }
    let value = decode_body(raw.kind, raw.body)?;
    Ok((value, raw.consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_bytes_round_trip_and_zero_is_unknown() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_byte(k.to_byte()), Some(k));
        }
        assert_eq!(Kind::from_byte(0), None);
        assert_eq!(Kind::from_byte(7), None);
    }

    #[test]
    fn header_bytes_round_trip() {
        let h = FrameHeader {
            kind: Kind::PeerMessage,
            body_len: 0x0102_0304,
        };
        let b = h.to_bytes();
        assert_eq!(b, [0x89, b'V', VERSION, 3, 1, 2, 3, 4]);
        let limits = FrameLimits {
            max_body: 0,
            max_peer_body: u32::MAX,
        };
        assert_eq!(parse_header(&b, &limits), Ok(h));
    }
}
