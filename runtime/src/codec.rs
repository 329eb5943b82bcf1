//! The wire's frames on a tokio byte stream: a [`tokio_util::codec`] pair
//! around the sans-IO [`FrameDecoder`], so that the runtime reads exactly
//! what the fuzzed decoder accepts, with its limits checked before a byte of
//! a body is buffered.

use backup_vault::wire::{Frame, FrameDecoder, FrameLimits, WireError};
use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Frames in, already-encoded frames out. See the module documentation.
#[derive(Debug)]
pub struct FrameCodec {
    decoder: FrameDecoder,
}

impl FrameCodec {
    /// A codec that admits frames within `limits`: [`FrameLimits::CLIENT`]
    /// on a client connection (no peer frames at all), the default between
    /// nodes.
    pub fn new(limits: FrameLimits) -> Self {
        FrameCodec {
            decoder: FrameDecoder::new(limits),
        }
    }
}

/// Why a connection's stream of frames ended in error.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes broke the wire format; the connection is dropped.
    #[error("bad frame: {0}")]
    Wire(#[from] WireError),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Some(frame));
            }
            if src.is_empty() {
                return Ok(None);
            }
            let took = self.decoder.push(src);
            src.advance(took);
            if took == 0 {
                // No room, and no complete frame: the decoder failed (its
                // error comes back from next_frame) or the limits admit no
                // frame; either way the stream cannot go on.
                self.decoder.next_frame()?;
                return Err(std::io::Error::other("the frame decoder took no bytes").into());
            }
        }
    }
}

impl Encoder<bytes::Bytes> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: bytes::Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&frame);
        Ok(())
    }
}
