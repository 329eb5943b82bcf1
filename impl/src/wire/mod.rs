//! The wire layer: how client↔vault and vault↔vault messages, and a node's
//! sealed disk records, become bytes and back.
//!
//! - [`frame`]: one length-prefixed frame (magic, version, kind, length,
//!   postcard body), with size limits checked before allocating.
//! - [`stream`]: a sans-IO [`FrameDecoder`] that reassembles frames from
//!   arbitrary chunks of a byte stream, with bounded buffering.
//! - [`disk`]: checksummed records for a node's disk log, and the recovery
//!   rule that tells a torn final write from corruption.
//! - This module: typed helpers for the vault's own message types.
//!
//! Every decoder here takes untrusted bytes: it never panics, checks each
//! length against a limit before buffering or allocating for it, and
//! requires a body to be used exactly (no trailing bytes).
//!
//! # The body format, and the versioning rule
//!
//! A frame body (and a disk record body) is the [postcard] encoding of the
//! serde data model of the Rust types in [`crate::vault`]: integers as
//! varints, sequences, maps and byte strings with a varint length prefix,
//! an enum as the varint *index* of its variant followed by its fields, a
//! struct as its fields *in declaration order* with no names or tags,
//! `Option` as a 0/1 byte. So the declaration order of enum variants and
//! struct fields *is* the wire format:
//!
//! - reordering, inserting, removing or retyping a variant or field of any
//!   type reachable from a message (including the associated types of the
//!   [`VaultCrypto`] in use) is a breaking change. It must bump
//!   [`frame::VERSION`] (or [`disk::DISK_VERSION`] for types reachable from
//!   a [`StoredRecord`], the body of a disk record: its clear fields,
//!   `VaultCrypto::Sealed`, and the sealed
//!   [`DiskRecord`](crate::vault::sealed::DiskRecord) with every
//!   [`VaultWrite`](crate::vault::node::VaultWrite) and
//!   [`VaultDisk`](crate::vault::node::VaultDisk) in it). Postcard cannot
//!   tell two schemas apart: a decoder of one reading the other either
//!   fails or, worse, reads a different value. Appending a variant at the
//!   end is also a bump: old decoders cannot read it.
//! - a version bump means "a different schema"; a receiver refuses any
//!   version it does not speak with [`WireError::UnsupportedVersion`] (the
//!   connection is dropped; a disk record of another version is
//!   [`CorruptReason::UnsupportedVersion`]) and never guesses. A build speaks exactly one
//!   version; mixed-version clusters are not supported.
//! - a new frame [`Kind`] is not a bump: old receivers refuse it with
//!   [`WireError::UnknownKind`].
//! - frames do not say which [`VaultCrypto`] they carry; a cluster and its
//!   clients use one.
//!
//! The tests in `tests/wire_vault.rs` pin the exact bytes of one encoded
//! message of each kind (and of one disk record), so an accidental reorder
//! fails a test; if that test fails on purpose, bump the version and update
//! the pinned bytes together.

pub mod disk;
mod error;
pub mod frame;
pub mod stream;

pub use disk::{
    CorruptReason, DiskCorrupt, DiskEncodeError, DiskLimits, Tail, TornReason, DISK_VERSION,
};
pub use error::WireError;
pub use frame::{
    decode_body, decode_frame, decode_frame_of, encode_frame, split_frame, FrameHeader,
    FrameLimits, Kind, RawFrame, HEADER_LEN, VERSION,
};
pub use stream::{Frame, FrameDecoder};

use crate::vault::crypto::VaultCrypto;
use crate::vault::ids::NodeId;
use crate::vault::node::VaultPeerMessage;
use crate::vault::protocol::{ClientRequest, ClientResponse};
use crate::vault::sealed::{SealedMessage, StoredRecord};

/// Frames a client request.
///
/// # Errors
/// As [`encode_frame`].
pub fn encode_client_request<C: VaultCrypto>(
    request: &ClientRequest<C>,
    limits: &FrameLimits,
) -> Result<Vec<u8>, WireError> {
    encode_frame(Kind::ClientRequest, request, limits)
}

/// Decodes the client-request frame at the start of `bytes`; returns it and
/// the bytes it occupies.
///
/// # Errors
/// As [`decode_frame_of`].
pub fn decode_client_request<C: VaultCrypto>(
    bytes: &[u8],
    limits: &FrameLimits,
) -> Result<(ClientRequest<C>, usize), WireError> {
    decode_frame_of(Kind::ClientRequest, bytes, limits)
}

/// Frames a vault reply.
///
/// # Errors
/// As [`encode_frame`].
pub fn encode_client_response<C: VaultCrypto>(
    response: &ClientResponse<C>,
    limits: &FrameLimits,
) -> Result<Vec<u8>, WireError> {
    encode_frame(Kind::ClientResponse, response, limits)
}

/// Decodes the client-response frame at the start of `bytes`; returns it
/// and the bytes it occupies.
///
/// # Errors
/// As [`decode_frame_of`].
pub fn decode_client_response<C: VaultCrypto>(
    bytes: &[u8],
    limits: &FrameLimits,
) -> Result<(ClientResponse<C>, usize), WireError> {
    decode_frame_of(Kind::ClientResponse, bytes, limits)
}

/// Frames a consensus message.
///
/// # Errors
/// As [`encode_frame`]; `Oversize` for a snapshot over the peer limit.
pub fn encode_peer_message<C: VaultCrypto>(
    message: &VaultPeerMessage<C>,
    limits: &FrameLimits,
) -> Result<Vec<u8>, WireError> {
    encode_frame(Kind::PeerMessage, message, limits)
}

/// Decodes the peer-message frame at the start of `bytes`; returns it and
/// the bytes it occupies.
///
/// # Errors
/// As [`decode_frame_of`].
pub fn decode_peer_message<C: VaultCrypto>(
    bytes: &[u8],
    limits: &FrameLimits,
) -> Result<(VaultPeerMessage<C>, usize), WireError> {
    decode_frame_of(Kind::PeerMessage, bytes, limits)
}

/// The first frame on a connection one vault node opens to another: who
/// is calling, and which fleet it belongs to. It is not authenticated, and
/// need not be: every later frame is sealed for the link from `from` to the
/// receiver, so a false `from` only makes them fail to open. The fleet key
/// lets a node refuse, with a clear log line, a peer of another cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PeerHello {
    /// The calling node.
    pub from: NodeId,
    /// The public key of the caller's fleet.
    pub fleet: [u8; 32],
}

/// Frames a [`PeerHello`].
///
/// # Errors
/// As [`encode_frame`].
pub fn encode_peer_hello(hello: &PeerHello, limits: &FrameLimits) -> Result<Vec<u8>, WireError> {
    encode_frame(Kind::PeerHello, hello, limits)
}

/// Frames a sealed consensus message, as a node's `Send` effect carries it.
///
/// # Errors
/// As [`encode_frame`].
pub fn encode_sealed_peer_message<C: VaultCrypto>(
    message: &SealedMessage<C>,
    limits: &FrameLimits,
) -> Result<Vec<u8>, WireError> {
    encode_frame(Kind::PeerMessage, message, limits)
}

impl Frame {
    /// The body as a [`PeerHello`].
    ///
    /// # Errors
    /// As [`Frame::decode_as`].
    pub fn peer_hello(&self) -> Result<PeerHello, WireError> {
        self.decode_as(Kind::PeerHello)
    }

    /// The body as a sealed consensus message, as a node receives it.
    ///
    /// # Errors
    /// As [`Frame::decode_as`].
    pub fn sealed_peer_message<C: VaultCrypto>(&self) -> Result<SealedMessage<C>, WireError> {
        self.decode_as(Kind::PeerMessage)
    }

    /// The body as a client request.
    ///
    /// # Errors
    /// As [`Frame::decode_as`].
    pub fn client_request<C: VaultCrypto>(&self) -> Result<ClientRequest<C>, WireError> {
        self.decode_as(Kind::ClientRequest)
    }

    /// The body as a vault reply.
    ///
    /// # Errors
    /// As [`Frame::decode_as`].
    pub fn client_response<C: VaultCrypto>(&self) -> Result<ClientResponse<C>, WireError> {
        self.decode_as(Kind::ClientResponse)
    }

    /// The body as a consensus message.
    ///
    /// # Errors
    /// As [`Frame::decode_as`].
    pub fn peer_message<C: VaultCrypto>(&self) -> Result<VaultPeerMessage<C>, WireError> {
        self.decode_as(Kind::PeerMessage)
    }
}

/// Frames one sealed record, as a node hands it its host (a
/// [`crate::vault::sealed::DiskOp`]'s record), into the bytes to append to
/// its disk file (layout in [`disk`]).
///
/// # Errors
/// As [`disk::encode_record`].
pub fn encode_disk_record<C: VaultCrypto>(
    record: &StoredRecord<C>,
    limits: &DiskLimits,
) -> Result<Vec<u8>, DiskEncodeError> {
    disk::encode_record(record, limits)
}

/// Reads a node's disk file: the sealed records of its valid prefix, in
/// order, and how it ends (the rule is in [`disk`]). A corrupt log must be
/// reported ([`Tail::check`]), not taken for a whole one; cut the file to
/// [`Tail::valid_len`] before appending. The records are still sealed: the
/// node opens them with [`crate::vault::sealed::open_disk`], which keeps
/// those that open where they stand, up to the first that does not (as
/// [`crate::vault::storage::RecordLog`] does).
pub fn decode_disk_log<C: VaultCrypto>(
    log: &[u8],
    limits: &DiskLimits,
) -> (Vec<StoredRecord<C>>, Tail) {
    disk::decode_log(log, limits)
}
