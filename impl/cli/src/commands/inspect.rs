//! `bvault backup inspect`: a backup's header and chunk count, verified with
//! the key when one is given.

use crate::cli::InspectArgs;
use crate::exit::{CliError, Exit};
use crate::io_util::{input_name, is_stdio, open_input, print_stdout};
use crate::keyfile;
use backup_vault::format::chunk::chunk_count;
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{read_full, BackupError, ChunkSize, Decryptor, Header, TAG_LEN};
use backup_vault::key::BackupKey;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::io::{self, Read};

const NOT_AUTHENTICATED: &str = "\
NOTHING WAS AUTHENTICATED. Without --key-file, every field above is only what
the file claims, and anyone could have written it. A consistent length does not
rule out altered bytes or a file cut at a chunk boundary. Give --key-file to
verify the backup.";

/// What the length of a file says about its chunks, without the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Chunks the file holds if its length is right: at least one.
    pub chunks: u64,
    /// Plaintext bytes, if the length is consistent.
    pub plaintext_len: Option<u64>,
    /// Why the length cannot be right, if it cannot.
    pub problem: Option<String>,
}

/// Computes the chunk layout of a backup `file_len` bytes long whose header
/// declares `chunk_size`: after the header, every chunk is `chunk_size +
/// TAG_LEN` bytes except the last, which is shorter but holds at least one
/// plaintext byte unless it is the only chunk.
pub fn layout(file_len: u64, chunk_size: ChunkSize) -> Layout {
    let body = file_len.saturating_sub(HEADER_LEN as u64);
    let tag = TAG_LEN as u64;
    let slot = u64::from(chunk_size.get()) + tag;
    let full = body / slot;
    let rem = body % slot;
    let chunks = (full + u64::from(rem > 0)).max(1);
    let problem = if file_len < HEADER_LEN as u64 {
        Some("the file is shorter than a header".to_owned())
    } else if body == 0 {
        Some("the file ends right after its header: it holds no chunk".to_owned())
    } else if rem > 0 && rem < tag {
        Some(format!(
            "the last chunk is {rem} bytes long, shorter than its {TAG_LEN}-byte tag: the file is truncated or has extra bytes"
        ))
    } else if rem == tag && full > 0 {
        Some(
            "the last chunk holds no data, which only an empty backup's single chunk may do: the file is truncated or has extra bytes"
                .to_owned(),
        )
    } else if chunks > 1 << 32 {
        Some("more than 2^32 chunks: no valid backup is that long".to_owned())
    } else {
        None
    };
    let plaintext_len = problem.is_none().then(|| body - chunks * tag);
    if let Some(len) = plaintext_len {
        debug_assert_eq!(chunk_count(len, chunk_size), chunks);
    }
    Layout {
        chunks,
        plaintext_len,
        problem,
    }
}

/// Runs `bvault backup inspect`.
pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    if args.key_file.as_deref().is_some_and(is_stdio) && is_stdio(&args.file) {
        return Err(CliError::usage(
            "the key file and the backup cannot both be standard input",
        ));
    }
    let key = args.key_file.as_deref().map(keyfile::load).transpose()?;
    let name = input_name(&args.file);
    let (mut input, len) = open_input(&args.file, "backup")?;
    let mut head = [0u8; HEADER_LEN];
    let n = read_full(&mut input, &mut head)
        .map_err(|err| CliError::io(format!("cannot read {name}"), &err))?;
    let mut report = Report::new(&args.file.to_string_lossy(), len);
    let header = match Header::parse(&head[..n]) {
        Ok(header) => header,
        Err(err) => {
            let error = CliError::backup(format!("cannot inspect {name}"), &err);
            return report.finish(args.json, Some(error));
        }
    };
    report.header(&head, &header);
    let error = match key {
        Some(key) => verify(&mut report, &key, &head[..n], input, &name),
        None => {
            let file_len = match len {
                Some(len) => len,
                None => {
                    let rest = io::copy(&mut input, &mut io::sink())
                        .map_err(|err| CliError::io(format!("cannot read {name}"), &err))?;
                    report.file_len = Some(n as u64 + rest);
                    n as u64 + rest
                }
            };
            check_length(&mut report, file_len, header.chunk_size, &name)
        }
    };
    report.finish(args.json, error)
}

fn check_length(
    report: &mut Report,
    file_len: u64,
    chunk_size: ChunkSize,
    name: &str,
) -> Option<CliError> {
    let layout = layout(file_len, chunk_size);
    report.text_line(
        "chunks",
        format!("{} (computed from the file length)", layout.chunks),
    );
    report.field("chunks", layout.chunks);
    report.field("plaintext_length", layout.plaintext_len);
    report.field("length_consistent", layout.problem.is_none());
    match &layout.problem {
        None => {
            let plain = layout.plaintext_len.unwrap_or_default();
            report.text_line(
                "plaintext length",
                format!("{plain} bytes (computed from the file length)"),
            );
            report.text_line("length", "consistent with the chunk size".to_owned());
        }
        Some(problem) => report.text_line("length", format!("INCONSISTENT: {problem}")),
    }
    report.field("authenticated", false);
    report.field("verified_chunks", None::<u64>);
    report.text.push('\n');
    report.text.push_str(NOT_AUTHENTICATED);
    report.text.push('\n');
    layout.problem.map(|problem| {
        CliError::with_exit(
            Exit::Damaged,
            format!("{name} cannot be a complete backup: {problem}"),
        )
    })
}

fn verify(
    report: &mut Report,
    key: &BackupKey,
    head: &[u8],
    rest: impl Read,
    name: &str,
) -> Option<CliError> {
    let key_matches = report
        .header_fingerprint
        .is_some_and(|fp| fp.ct_eq(&key.fingerprint()));
    report.text_line(
        "key given",
        if key_matches {
            "its fingerprint matches".to_owned()
        } else {
            format!("fingerprint {} does NOT match", key.fingerprint())
        },
    );
    report.field("key_matches", key_matches);
    let mut counted = CountBytes { inner: rest, n: 0 };
    let source = io::Cursor::new(head).chain(&mut counted);
    let mut verified = 0;
    let outcome = match Decryptor::new(key, source) {
        Ok(mut dec) => {
            let result = dec.decrypt_to(io::sink());
            verified = dec.chunks_verified();
            result
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(plain) => {
            report.file_len = report.file_len.or(Some(head.len() as u64 + counted.n));
            report.text_line("chunks", verified.to_string());
            report.text_line("plaintext length", format!("{plain} bytes"));
            report.text_line(
                "verified",
                format!("all {verified} chunks verified; the header is authentic"),
            );
            report.field("chunks", verified);
            report.field("plaintext_length", plain);
            report.field("authenticated", true);
            report.field("verified_chunks", verified);
            None
        }
        Err(err) => {
            let what = match &err {
                BackupError::WrongKey { .. } => "NO: wrong key".to_owned(),
                _ if verified == 0 => "FAILED before any chunk verified".to_owned(),
                _ => format!("FAILED after {verified} chunks verified"),
            };
            report.text_line("verified", what);
            report.field("chunks", None::<u64>);
            report.field("plaintext_length", None::<u64>);
            report.field("authenticated", false);
            report.field("verified_chunks", verified);
            Some(CliError::backup(format!("cannot verify {name}"), &err))
        }
    }
}

/// The report, built as text and as JSON side by side.
struct Report {
    text: String,
    json: Map<String, Value>,
    file: String,
    file_len: Option<u64>,
    header_fingerprint: Option<backup_vault::key::KeyFingerprint>,
}

impl Report {
    fn new(file: &str, file_len: Option<u64>) -> Self {
        Report {
            text: String::new(),
            json: Map::new(),
            file: file.to_owned(),
            file_len,
            header_fingerprint: None,
        }
    }

    /// Sets one field of the JSON form.
    fn field(&mut self, key: &str, value: impl Into<Value>) {
        self.json.insert(key.to_owned(), value.into());
    }

    fn text_line(&mut self, label: &str, value: String) {
        let _ = writeln!(self.text, "{:<18}{value}", format!("{label}:"));
    }

    fn header(&mut self, bytes: &[u8; HEADER_LEN], header: &Header) {
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        let algorithm = u16::from_be_bytes([bytes[10], bytes[11]]);
        self.header_fingerprint = Some(header.key_fingerprint);
        self.text_line("format version", version.to_string());
        self.text_line(
            "algorithm",
            format!("{algorithm} (AES-256-GCM STREAM, HKDF-SHA256 subkeys)"),
        );
        self.text_line("chunk size", format!("{} bytes", header.chunk_size.get()));
        self.text_line("generation", header.generation.0.to_string());
        self.text_line("backup id", header.backup_id.to_string());
        self.text_line("nonce prefix", header.nonce_prefix.to_string());
        self.text_line("key fingerprint", header.key_fingerprint.to_string());
        self.field("version", version);
        self.field("algorithm", algorithm);
        self.field("algorithm_name", "AES-256-GCM STREAM");
        self.field("chunk_size", header.chunk_size.get());
        self.field("generation", header.generation.0);
        self.field("backup_id", header.backup_id.to_string());
        self.field("nonce_prefix", header.nonce_prefix.to_string());
        self.field("key_fingerprint", header.key_fingerprint.to_string());
    }

    /// Prints the report and returns `error`, if any, for the exit code.
    fn finish(self, json: bool, error: Option<CliError>) -> Result<(), CliError> {
        let out = if json {
            let mut obj = self.json;
            obj.insert("file".into(), self.file.as_str().into());
            obj.insert("file_length".into(), self.file_len.into());
            let err = error.as_ref().map(|e| {
                json!({
                    "exit_code": e.exit().code(),
                    "class": e.exit().name(),
                    "message": e.message(),
                })
            });
            obj.insert("error".into(), err.into());
            Value::Object(obj).to_string() + "\n"
        } else {
            let mut text = format!("{:<18}{}\n", "file:", self.file);
            if let Some(len) = self.file_len {
                text += &format!("{:<18}{len} bytes\n", "file length:");
            }
            text + &self.text
        };
        // On a header error there is nothing to show in text form.
        if json || self.header_fingerprint.is_some() {
            print_stdout(&out)?;
        }
        match error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// Counts the bytes read through it.
struct CountBytes<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(n: u32) -> ChunkSize {
        ChunkSize::new(n).unwrap()
    }

    #[test]
    fn layout_matches_the_encoder_for_every_small_length() {
        for chunk in [1u32, 7, 100] {
            for plain in 0u64..400 {
                let chunks = chunk_count(plain, cs(chunk));
                let file_len = HEADER_LEN as u64 + plain + chunks * TAG_LEN as u64;
                let got = layout(file_len, cs(chunk));
                assert_eq!(got.problem, None, "chunk {chunk} plain {plain}");
                assert_eq!(got.chunks, chunks);
                assert_eq!(got.plaintext_len, Some(plain));
            }
        }
    }

    #[test]
    fn impossible_lengths_are_flagged() {
        let h = HEADER_LEN as u64;
        let t = TAG_LEN as u64;
        assert!(layout(h - 1, cs(10)).problem.is_some());
        assert!(layout(h, cs(10)).problem.is_some());
        assert!(layout(h + t - 1, cs(10)).problem.is_some());
        assert!(layout(h + t, cs(10)).problem.is_none()); // empty backup
        assert!(layout(h + 10 + t + t, cs(10)).problem.is_some()); // empty second chunk
        assert!(layout(h + 10 + t + 3, cs(10)).problem.is_some()); // cut inside a tag
        assert_eq!(layout(h, cs(10)).chunks, 1);
    }
}
