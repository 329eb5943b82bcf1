//! A sans-IO frame decoder for byte streams (TCP, or the simulator's).
//!
//! Feed it whatever chunks arrive with [`FrameDecoder::push`] and take
//! complete frames with [`FrameDecoder::next_frame`]. It does no I/O and
//! reads no clock, so the tokio runtime and the simulator share it.
//!
//! Guarantees:
//! - **Bounded memory.** It never buffers more than
//!   [`FrameLimits::max_frame_len`] bytes (one largest frame, header
//!   included): `push` takes only what fits and says how much it took. Since
//!   one frame always fits, taking every ready frame frees room again.
//! - **Early rejection.** A bad header (magic, version, kind, length over the
//!   limit) is reported as soon as its bytes arrive, before the body.
//! - **Chunking does not matter.** The frames and the first error are the
//!   same however the stream is cut into chunks.
//! - **Fail-stop.** After the first error the decoder stays failed and
//!   returns that error forever: a corrupted stream cannot be
//!   resynchronized, so the connection must be dropped.

use super::error::WireError;
use super::frame::{decode_body, parse_header, FrameLimits, Kind, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;

/// A complete frame taken from a stream, body not yet decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The message kind.
    pub kind: Kind,
    /// The body: exactly the declared length.
    pub body: Bytes,
}

impl Frame {
    /// Decodes the body as a `T`, whatever the kind.
    ///
    /// # Errors
    /// As [`decode_body`].
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, WireError> {
        decode_body(self.kind, &self.body)
    }

    /// Decodes the body as a `T` if the frame is of kind `expected`.
    ///
    /// # Errors
    /// `UnexpectedKind`, or as [`decode_body`].
    pub fn decode_as<T: DeserializeOwned>(&self, expected: Kind) -> Result<T, WireError> {
        if self.kind != expected {
            return Err(WireError::UnexpectedKind {
                expected,
                found: self.kind,
            });
        }
        self.decode()
    }
}

/// Reassembles frames from a byte stream. See the module documentation.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: FrameLimits,
    buf: BytesMut,
    failed: Option<WireError>,
}

impl FrameDecoder {
    /// A decoder that admits frames within `limits`.
    pub fn new(limits: FrameLimits) -> Self {
        FrameDecoder {
            limits,
            buf: BytesMut::new(),
            failed: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &FrameLimits {
        &self.limits
    }

    /// The most bytes the decoder ever holds.
    pub fn capacity(&self) -> usize {
        self.limits.max_frame_len()
    }

    /// Bytes held, waiting to complete a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many bytes the next [`FrameDecoder::push`] can take (0 once failed).
    pub fn room(&self) -> usize {
        if self.failed.is_some() {
            0
        } else {
            self.capacity() - self.buf.len()
        }
    }

    /// The error the decoder failed with, if it has.
    pub fn error(&self) -> Option<&WireError> {
        self.failed.as_ref()
    }

    /// Offers bytes from the stream; returns how many were taken, which is
    /// `min(data.len(), self.room())`. Offer the rest again after taking the
    /// ready frames with [`FrameDecoder::next_frame`].
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.room());
        self.buf.extend_from_slice(&data[..take]);
        take
    }

    /// Takes the next complete frame, if there is one.
    ///
    /// # Errors
    /// The first error in the stream (never `Incomplete`: a partial frame is
    /// `Ok(None)`), then the same error on every later call.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match parse_header(&self.buf, &self.limits) {
            Ok(header) if self.buf.len() >= header.frame_len() => {
                let mut frame = self.buf.split_to(header.frame_len());
                let body = frame.split_off(HEADER_LEN).freeze();
                debug_assert_eq!(body.len(), header.body_len as usize);
                Ok(Some(Frame {
                    kind: header.kind,
                    body,
                }))
            }
            Ok(_) | Err(WireError::Incomplete { .. }) => Ok(None),
            Err(err) => {
                self.buf = BytesMut::new();
                self.failed = Some(err.clone());
                Err(err)
            }
        }
    }
}
