//! The chunk nonce layout: the one place it is defined.
//!
//! ```text
//! byte  0..7   nonce_prefix (from the header)
//! byte  7..11  chunk counter, u32 big-endian, 0 for the first chunk
//! byte 11      last-chunk flag: 0x01 on the final chunk, 0x00 on every other
//! ```
//!
//! This is the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár
//! (as in age): the counter pins each chunk to its position, and the flag
//! makes a file cut at a chunk boundary fail, because its new last chunk was
//! sealed as non-final. A file therefore holds at most 2^32 chunks.

/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// Length of the random per-file prefix.
pub const PREFIX_LEN: usize = 7;

/// The nonce of chunk `index`, final or not.
pub fn chunk_nonce(prefix: &[u8; PREFIX_LEN], index: u32, last: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..PREFIX_LEN].copy_from_slice(prefix);
    nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&index.to_be_bytes());
    nonce[NONCE_LEN - 1] = u8::from(last);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_prefix_counter_flag() {
        let n = chunk_nonce(&[1, 2, 3, 4, 5, 6, 7], 0x0a0b0c0d, true);
        assert_eq!(n, [1, 2, 3, 4, 5, 6, 7, 0x0a, 0x0b, 0x0c, 0x0d, 1]);
        assert_eq!(chunk_nonce(&[0; 7], 0, false), [0; 12]);
    }
}
