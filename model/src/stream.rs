//! FMT-1 by exhaustive search: no file built from pieces of real backups
//! decrypts to anything but an original plaintext.
//!
//! The model holds two backups A and B made with one key and a tiny chunk
//! size, so each has a few chunks. The adversary's pieces are every chunk of
//! both backups, whole and with its last byte cut off. A state is a file
//! under construction: a header (A's or B's) and a sequence of pieces. Each
//! action appends one piece, up to a length bound. Stateright explores every
//! such file; the properties run the real decoder (`backup_vault::format`)
//! on each one.
//!
//! Abstraction: pieces are whole chunks or chunks missing their last byte,
//! never arbitrary bytes (the fuzzers and property tests cover those). That
//! is sound for FMT-1's order, length and splice clauses because AES-GCM
//! chunks either verify or do not: a forged tag is out of the model, as it is
//! out of any attacker's reach.

use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{
    self, BackupError, BackupParams, ChunkSize, DecryptOptions, Generation, TruncatedAt, TAG_LEN,
};
use backup_vault::BackupKey;
use stateright::{Model, Property};

/// One original backup: its header bytes, chunk bytes and plaintext.
#[derive(Clone, Debug)]
struct Original {
    header: Vec<u8>,
    chunks: Vec<Vec<u8>>,
    plaintext: Vec<u8>,
}

/// A piece the adversary can append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Piece {
    /// 0 for backup A, 1 for backup B.
    pub backup: u8,
    /// The chunk's index in that backup.
    pub chunk: u8,
    /// Whether the chunk's last byte is cut off.
    pub cut: bool,
}

/// A file under construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileState {
    /// Whose header starts the file (0 = A, 1 = B).
    pub header: u8,
    /// The pieces after the header, in order.
    pub pieces: Vec<Piece>,
}

/// The model. Build it with [`StreamModel::new`].
#[derive(Clone, Debug)]
pub struct StreamModel {
    key: BackupKey,
    originals: [Original; 2],
    options: DecryptOptions,
    /// Most pieces in one file.
    pub max_pieces: usize,
}

impl StreamModel {
    /// Two backups of `chunks` one-byte chunks each, made with `params_a` and
    /// `params_b` (which choose the flaws, if any), decoded with `options`.
    pub fn with_params(
        params_a: BackupParams,
        params_b: BackupParams,
        options: DecryptOptions,
        max_pieces: usize,
    ) -> Self {
        let key = BackupKey::from_bytes(&[0x5a; 32]);
        let make = |params: &BackupParams, text: &[u8]| {
            let file = format::encrypt(&key, params, text);
            let cs = params.chunk_size.bytes() + TAG_LEN;
            Original {
                header: file[..HEADER_LEN].to_vec(),
                chunks: file[HEADER_LEN..].chunks(cs).map(<[u8]>::to_vec).collect(),
                plaintext: text.to_vec(),
            }
        };
        let originals = [make(&params_a, b"abc"), make(&params_b, b"xyz")];
        StreamModel {
            key,
            originals,
            options,
            max_pieces,
        }
    }

    /// The correct format: three one-byte chunks per backup, default options.
    pub fn new(max_pieces: usize) -> Self {
        Self::with_params(
            Self::params(1),
            Self::params(2),
            DecryptOptions::default(),
            max_pieces,
        )
    }

    /// Deterministic params for backup `n` (chunk size 1).
    pub fn params(n: u8) -> BackupParams {
        BackupParams::from_parts(
            Generation(u64::from(n)),
            ChunkSize::new(1).expect("1 is a valid chunk size"),
            format::BackupId([n; 16]),
            format::NoncePrefix([n.wrapping_mul(17); 7]),
        )
    }

    /// The bytes of the file a state describes.
    pub fn bytes(&self, state: &FileState) -> Vec<u8> {
        let mut out = self.originals[usize::from(state.header)].header.clone();
        for p in &state.pieces {
            let chunk = &self.originals[usize::from(p.backup)].chunks[usize::from(p.chunk)];
            let len = if p.cut { chunk.len() - 1 } else { chunk.len() };
            out.extend_from_slice(&chunk[..len]);
        }
        out
    }

    /// Decodes a state's file with the implementation's decoder.
    pub fn decode(&self, state: &FileState) -> Result<Vec<u8>, BackupError> {
        format::decrypt_with(&self.key, &self.bytes(state), &self.options).map(|(_, p)| p)
    }

    fn is_original(&self, state: &FileState) -> bool {
        let o = usize::from(state.header);
        let n = self.originals[o].chunks.len();
        state.pieces.len() == n
            && state
                .pieces
                .iter()
                .enumerate()
                .all(|(i, p)| usize::from(p.backup) == o && usize::from(p.chunk) == i && !p.cut)
    }
}

impl Model for StreamModel {
    type State = FileState;
    type Action = Piece;

    fn init_states(&self) -> Vec<FileState> {
        (0..2)
            .map(|header| FileState {
                header,
                pieces: Vec::new(),
            })
            .collect()
    }

    fn actions(&self, state: &FileState, actions: &mut Vec<Piece>) {
        if state.pieces.len() >= self.max_pieces {
            return;
        }
        for (b, original) in self.originals.iter().enumerate() {
            for c in 0..original.chunks.len() {
                for cut in [false, true] {
                    actions.push(Piece {
                        backup: b as u8,
                        chunk: c as u8,
                        cut,
                    });
                }
            }
        }
    }

    fn next_state(&self, last: &FileState, piece: Piece) -> Option<FileState> {
        let mut next = last.clone();
        next.pieces.push(piece);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            // FMT-1: accepted means original, and then the plaintext is exact.
            Property::always(
                "FMT-1 only an original file decrypts",
                |m: &Self, s: &FileState| match m.decode(s) {
                    Ok(plain) => {
                        m.is_original(s) && plain == m.originals[usize::from(s.header)].plaintext
                    }
                    Err(_) => !m.is_original(s),
                },
            ),
            // Non-vacuity: the originals are reachable and accepted ...
            Property::sometimes("an original file decrypts", |m: &Self, s: &FileState| {
                m.decode(s).is_ok()
            }),
            // ... and the interesting rejections happen.
            Property::sometimes(
                "a file cut at a chunk boundary is rejected",
                |m: &Self, s: &FileState| {
                    matches!(
                        m.decode(s),
                        Err(BackupError::Truncated {
                            at: TruncatedAt::AfterChunk { .. }
                        })
                    )
                },
            ),
            Property::sometimes("a spliced chunk is rejected", |m: &Self, s: &FileState| {
                s.pieces.iter().any(|p| p.backup != s.header)
                    && matches!(m.decode(s), Err(BackupError::CorruptChunk { .. }))
            }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::flaws::FormatFlaw;
    use stateright::Checker;

    #[test]
    fn the_format_passes_exhaustively_at_four_pieces() {
        let checker = StreamModel::new(4).checker().spawn_bfs().join();
        checker.assert_properties();
        // 2 headers x (1 + 12 + 12^2 + 12^3 + 12^4) files.
        assert_eq!(
            checker.unique_state_count(),
            2 * (1 + 12 + 144 + 1728 + 20736)
        );
    }

    #[test]
    fn skipping_the_last_chunk_flag_is_caught_with_a_path() {
        let flaw = FormatFlaw::SkipLastChunkFlag;
        let model = StreamModel::with_params(
            StreamModel::params(1).with_flaw(flaw),
            StreamModel::params(2).with_flaw(flaw),
            DecryptOptions::default().with_flaw(flaw),
            4,
        );
        let checker = model.clone().checker().spawn_bfs().join();
        let path = checker
            .discovery("FMT-1 only an original file decrypts")
            .expect("the checker must find the truncation");
        let last = path.last_state().clone();
        // Breadth-first, so the shortest counterexample: A's header and chunk 0.
        assert!(last.pieces.len() < 3, "{last:?}");
        let plain = model.decode(&last).expect("the flawed decoder accepts it");
        assert!(b"abc".starts_with(&plain));
        println!("counterexample: {last:?} decrypts to {plain:?}");
    }
}
