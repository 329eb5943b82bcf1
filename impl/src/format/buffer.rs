//! Chunk buffers that grow only as data arrives, and never leave a copy behind.
//!
//! A buffer starts empty, so a 5-byte backup with 16 MiB chunks allocates a
//! few KiB, not 16 MiB. It grows in one of two ways ([`Growth`]): doubling
//! (from about [`MIN_BUFFER`]) up to the one chunk it is for, or in one step
//! from [`MIN_BUFFER`] to all it may hold. Growing moves the bytes into a new
//! allocation and wipes the old one first: a plain `Vec` reallocation would
//! free memory that still holds plaintext.

use super::reader::read_full;
use std::io::{self, Read};
use zeroize::Zeroize;

/// The first allocation of a buffer that grows.
pub(crate) const MIN_BUFFER: usize = 8 * 1024;

/// How a buffer grows past [`MIN_BUFFER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Growth {
    /// By doubling: the buffer is never more than twice what it holds, and
    /// the old allocation held while the contents move is at most half the
    /// new one. For buffers of one chunk, which is all the streaming
    /// adapters keep.
    Doubling,
    /// Straight to its limit: one move of at most [`MIN_BUFFER`] bytes, for
    /// the pipeline's buffers of a whole run of chunks, which would
    /// otherwise move and fault in their pages several times per call.
    Whole,
}

/// The capacity to grow to when `needed` bytes must fit in a buffer of
/// `current` capacity that may never exceed `limit`: the smallest
/// `limit / 2^k` that holds `needed` and at least doubles the buffer (or
/// reaches [`MIN_BUFFER`]). So the old allocation, held while its contents
/// move, is never more than half of the new one.
fn next_capacity(current: usize, needed: usize, limit: usize, growth: Growth) -> usize {
    debug_assert!(needed <= limit, "a chunk buffer never outgrows its chunk");
    if growth == Growth::Whole {
        return if needed <= MIN_BUFFER {
            MIN_BUFFER.min(limit)
        } else {
            limit
        };
    }
    let floor = needed.max(2 * current).max(MIN_BUFFER);
    let mut capacity = limit;
    while capacity / 2 >= floor {
        capacity /= 2;
    }
    capacity
}

/// Makes `buf` at least `len` bytes long (zero-filled), moving its contents
/// into a larger allocation if needed and wiping the old one. Never grows
/// past `limit`.
pub(crate) fn resize_wiped(buf: &mut Vec<u8>, len: usize, limit: usize, growth: Growth) {
    if buf.len() >= len {
        return;
    }
    let mut bigger = vec![0u8; next_capacity(buf.len(), len, limit, growth)];
    bigger[..buf.len()].copy_from_slice(buf);
    buf.zeroize();
    *buf = bigger;
}

/// Reads into `buf[filled..]` until `want` bytes are in `buf` or the stream
/// ends; returns how many bytes are in `buf` (bytes past that are stale).
/// The buffer grows with [`resize_wiped`], never past `limit`, and only
/// while the stream keeps filling it.
///
/// # Errors
/// Any error from `reader` other than `Interrupted`.
pub(crate) fn read_growing<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    mut filled: usize,
    want: usize,
    limit: usize,
    growth: Growth,
) -> io::Result<usize> {
    debug_assert!(filled <= buf.len() && filled <= want && want <= limit);
    loop {
        if filled == buf.len().min(want) {
            if filled == want {
                return Ok(filled);
            }
            resize_wiped(buf, filled + 1, limit, growth);
        }
        let end = buf.len().min(want);
        let n = read_full(reader, &mut buf[filled..end])?;
        filled += n;
        if filled < end {
            return Ok(filled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_input_gets_a_small_buffer() {
        let mut buf = Vec::new();
        let n = read_growing(
            &mut &b"hello"[..],
            &mut buf,
            0,
            16 << 20,
            16 << 20,
            Growth::Doubling,
        )
        .unwrap();
        assert_eq!((n, &buf[..n]), (5, &b"hello"[..]));
        assert!(buf.len() >= MIN_BUFFER && buf.len() < 2 * MIN_BUFFER);
    }

    #[test]
    fn a_long_input_fills_exactly_the_limit_and_keeps_the_rest_unread() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut reader = &data[..];
        let mut buf = Vec::new();
        let n = read_growing(&mut reader, &mut buf, 0, 65_537, 65_552, Growth::Doubling).unwrap();
        assert_eq!(n, 65_537);
        assert_eq!(buf.len(), 65_552);
        assert_eq!(&buf[..n], &data[..n]);
        assert_eq!(reader.len(), 100_000 - 65_537);
        // A reused buffer is not grown again.
        let n = read_growing(&mut reader, &mut buf, 0, 65_537, 65_552, Growth::Doubling).unwrap();
        assert_eq!((n, buf.len()), (100_000 - 65_537, 65_552));
    }

    #[test]
    fn growing_keeps_the_contents() {
        let mut buf = b"abc".to_vec();
        resize_wiped(&mut buf, 10_000, 20_000, Growth::Doubling);
        assert_eq!(&buf[..3], b"abc");
        assert!(buf.len() >= 10_000 && buf.len() <= 20_000);
    }

    #[test]
    fn whole_growth_takes_one_step_past_the_first_allocation() {
        let mut buf = Vec::new();
        let data = vec![7u8; 20_000];
        let n = read_growing(&mut &data[..], &mut buf, 0, 30_000, 40_000, Growth::Whole).unwrap();
        assert_eq!((n, buf.len()), (20_000, 40_000));
        let mut small = Vec::new();
        resize_wiped(&mut small, 5, 40_000, Growth::Whole);
        assert_eq!(small.len(), MIN_BUFFER);
    }

    #[test]
    fn growth_at_least_doubles_and_the_old_buffer_is_at_most_half() {
        for limit in [1, 100, 8192, 65_552, 65_553, (16 << 20) + 17] {
            let mut capacity = 0;
            while capacity < limit {
                let next = next_capacity(capacity, capacity + 1, limit, Growth::Doubling);
                assert!(next > capacity && next <= limit);
                assert!(2 * capacity <= next, "{limit}: {capacity} -> {next}");
                capacity = next;
            }
        }
    }
}
