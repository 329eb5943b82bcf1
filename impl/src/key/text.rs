//! The 64-digit text form of K.
//!
//! Format: 64 hex digits, printed lowercase in 16 groups of 4. Parsing accepts
//! digits in either case, with spaces, dashes and line breaks (`\n`, `\r`)
//! anywhere between them, so a key copied from paper, a password manager or a
//! file with a trailing newline all parse. Anything else is an error naming
//! the character and its position. Parsing allocates nothing and reads at most
//! [`MAX_KEY_TEXT_BYTES`] of input.

use thiserror::Error;
use zeroize::Zeroizing;

/// Number of hex digits in the text form.
pub const KEY_TEXT_DIGITS: usize = 64;

/// Longest text accepted: generous for separators, small enough that a wrong
/// file given as a key file is refused before it is scanned.
pub const MAX_KEY_TEXT_BYTES: usize = 4096;

/// Why a text is not a valid 64-digit key.
///
/// Positions count characters (not bytes) from 0; `line` and `column` count
/// from 1. The messages never quote any hex digit of the key.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum KeyTextError {
    /// A character that is neither a hex digit nor an accepted separator.
    #[error(
        "invalid character {character:?} at line {line}, column {column} (character {position}): \
         a key is 64 hex digits (0-9, a-f), optionally separated by spaces, dashes or line breaks"
    )]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its index in characters, from 0.
        position: usize,
        /// Its line, from 1.
        line: usize,
        /// Its column in characters, from 1.
        column: usize,
    },
    /// The text holds the wrong number of hex digits.
    #[error("expected {KEY_TEXT_DIGITS} hex digits, found {found}")]
    WrongLength {
        /// How many hex digits the text holds.
        found: usize,
    },
    /// The text is longer than [`MAX_KEY_TEXT_BYTES`].
    #[error("key text is {len} bytes long; a key is at most {MAX_KEY_TEXT_BYTES} bytes of text")]
    TooLong {
        /// The text's length in bytes.
        len: usize,
    },
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\n' | '\r')
}

pub(super) fn parse(text: &str) -> Result<[u8; 32], KeyTextError> {
    if text.len() > MAX_KEY_TEXT_BYTES {
        return Err(KeyTextError::TooLong { len: text.len() });
    }
    // Built in a zeroizing buffer so a failed parse leaves no partial key behind.
    let mut key = Zeroizing::new([0u8; 32]);
    let mut digits = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    for (position, character) in text.chars().enumerate() {
        column += 1;
        if character == '\n' {
            line += 1;
            column = 0;
            continue;
        }
        if is_separator(character) {
            continue;
        }
        let Some(value) = character.to_digit(16) else {
            return Err(KeyTextError::InvalidCharacter {
                character,
                position,
                line,
                column,
            });
        };
        if digits < KEY_TEXT_DIGITS {
            let nibble = value as u8;
            let byte = &mut key[digits / 2];
            *byte = if digits.is_multiple_of(2) {
                nibble << 4
            } else {
                *byte | nibble
            };
        }
        digits += 1;
    }
    if digits != KEY_TEXT_DIGITS {
        return Err(KeyTextError::WrongLength { found: digits });
    }
    Ok(*key)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub(super) fn format(key: &[u8; 32], group_separator: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(KEY_TEXT_DIGITS + 15 * 2));
    for (i, pair) in key.chunks_exact(2).enumerate() {
        if i > 0 {
            out.push_str(group_separator);
        }
        for b in pair {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
    out
}

pub(super) fn format_grid(key: &[u8; 32]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(80));
    for (row, quarter) in key.chunks_exact(8).enumerate() {
        if row > 0 {
            out.push('\n');
        }
        let mut part = [0u8; 32];
        part[..8].copy_from_slice(quarter);
        let groups = format(&part, " ");
        // The first 4 groups of `part` are this row's 8 bytes.
        out.push_str(&groups[..4 * 4 + 3]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str =
        "0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567 89ab cdef";

    #[test]
    fn formats_16_groups_of_4() {
        let key = parse(SAMPLE).unwrap();
        assert_eq!(*format(&key, " "), SAMPLE);
        let grid = format_grid(&key);
        assert_eq!(grid.lines().count(), 4);
        assert!(grid.lines().all(|l| l == "0123 4567 89ab cdef"));
        assert_eq!(parse(&grid).unwrap(), key);
    }

    #[test]
    fn accepts_case_dashes_and_line_breaks() {
        let upper = SAMPLE.to_uppercase().replace(' ', "-");
        let crlf = SAMPLE.replace(' ', "\r\n");
        let bare: String = SAMPLE.split(' ').collect();
        for text in [upper, crlf, bare, format!("\n{SAMPLE}\n")] {
            assert_eq!(parse(&text), parse(SAMPLE), "{text:?}");
        }
    }

    #[test]
    fn bad_character_reports_line_and_column() {
        let text = "0123 4567 89ab cdef\n0123 45x7";
        let err = parse(text).unwrap_err();
        assert_eq!(
            err,
            KeyTextError::InvalidCharacter {
                character: 'x',
                position: 27,
                line: 2,
                column: 8
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("line 2, column 8"), "{msg}");
    }

    #[test]
    fn tabs_and_unicode_are_rejected_at_their_position() {
        assert!(matches!(
            parse("01\t23"),
            Err(KeyTextError::InvalidCharacter {
                character: '\t',
                position: 2,
                ..
            })
        ));
        // Position counts characters, not bytes.
        assert!(matches!(
            parse("é0x"),
            Err(KeyTextError::InvalidCharacter {
                character: 'é',
                position: 0,
                ..
            })
        ));
        assert!(matches!(
            parse("ab\u{00a0}cd"),
            Err(KeyTextError::InvalidCharacter {
                position: 2,
                column: 3,
                ..
            })
        ));
    }

    #[test]
    fn wrong_length_reports_the_count() {
        assert_eq!(parse(""), Err(KeyTextError::WrongLength { found: 0 }));
        assert_eq!(
            parse(&SAMPLE[1..]),
            Err(KeyTextError::WrongLength { found: 63 })
        );
        assert_eq!(
            parse(&format!("{SAMPLE} 0")),
            Err(KeyTextError::WrongLength { found: 65 })
        );
        let huge = "0".repeat(MAX_KEY_TEXT_BYTES + 1);
        assert_eq!(
            parse(&huge),
            Err(KeyTextError::TooLong {
                len: MAX_KEY_TEXT_BYTES + 1
            })
        );
    }

    #[test]
    fn messages_never_quote_digits() {
        let err = parse(&SAMPLE[..70]).unwrap_err().to_string();
        assert!(!err.contains("0123"), "{err}");
    }

    fn separator() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec![" ", "-", "\n", "\r\n", ""]), 0..3)
            .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn text_round_trips(key in any::<[u8; 32]>()) {
            prop_assert_eq!(parse(&format(&key, " ")).unwrap(), key);
            prop_assert_eq!(parse(&format_grid(&key)).unwrap(), key);
        }

        #[test]
        fn any_case_and_separators_parse_to_the_same_key(
            key in any::<[u8; 32]>(),
            seps in prop::collection::vec(separator(), 65),
            upper in prop::collection::vec(any::<bool>(), 64),
        ) {
            let digits = format(&key, "");
            let mut text = seps[0].clone();
            for (i, c) in digits.chars().enumerate() {
                text.push(if upper[i] { c.to_ascii_uppercase() } else { c });
                text.push_str(&seps[i + 1]);
            }
            prop_assert_eq!(parse(&text).unwrap(), key);
        }

        #[test]
        fn a_bad_character_is_reported_where_it_is(
            key in any::<[u8; 32]>(),
            at in 0usize..79,
            bad in prop::sample::select(vec!['g', 'z', '_', '\t', '.', 'ü']),
        ) {
            let text: Vec<char> = format(&key, " ").chars().collect();
            let mut broken = text.clone();
            broken[at] = bad;
            let broken: String = broken.into_iter().collect();
            match parse(&broken) {
                Err(KeyTextError::InvalidCharacter { character, position, line, column }) => {
                    prop_assert_eq!(character, bad);
                    prop_assert_eq!(position, at);
                    prop_assert_eq!(line, 1);
                    prop_assert_eq!(column, at + 1);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn dropping_or_adding_digits_reports_the_count(key in any::<[u8; 32]>(), n in 0usize..64, extra in 0usize..8) {
            let digits = format(&key, "");
            prop_assert_eq!(parse(&digits[..n]), Err(KeyTextError::WrongLength { found: n }));
            let longer = format!("{}{}", &*digits, "a".repeat(extra + 1));
            prop_assert_eq!(parse(&longer), Err(KeyTextError::WrongLength { found: 65 + extra }));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse(&text);
        }
    }
}
