//! The test vector of docs/format.md section 9, checked byte for byte.
//!
//! The values are read from the document itself, so the spec and the code
//! cannot drift apart silently.

use backup_vault::format::nonce::chunk_nonce;
use backup_vault::format::{self, BackupId, BackupParams, ChunkSize, Generation, NoncePrefix};
use backup_vault::{BackupKey, Purpose};
use std::collections::BTreeMap;

fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

fn unhex(s: &str) -> Vec<u8> {
    ::hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// The `name value` lines of the vector block, and the file hex after `file`.
fn read_vector() -> (BTreeMap<String, String>, Vec<u8>) {
    let doc = include_str!("../../../docs/format.md");
    let begin = doc
        .find("<!-- test-vector:begin -->")
        .expect("begin marker");
    let end = doc.find("<!-- test-vector:end -->").expect("end marker");
    let block = &doc[begin..end];
    let mut fields = BTreeMap::new();
    let mut file_hex = String::new();
    let mut in_file = false;
    for line in block.lines().map(str::trim) {
        if line.starts_with("```") || line.starts_with("<!--") || line.is_empty() {
            continue;
        }
        if in_file {
            file_hex.push_str(line);
        } else if line == "file" {
            in_file = true;
        } else {
            let (name, value) = line.split_once(' ').expect("name value");
            fields.insert(name.to_string(), value.trim().to_string());
        }
    }
    (fields, unhex(&file_hex))
}

#[test]
fn the_documented_vector_matches_byte_for_byte() {
    let (v, file) = read_vector();
    let key_bytes: [u8; 32] = unhex(&v["key"]).try_into().unwrap();
    let key = BackupKey::from_bytes(&key_bytes);
    assert_eq!(*key.to_text(), v["key_text"]);
    assert_eq!(BackupKey::parse(&v["key_text"]).unwrap(), key);
    let plaintext = v["plaintext"].trim_matches('"').as_bytes().to_vec();
    let backup_id = BackupId(unhex(&v["backup_id"]).try_into().unwrap());
    let prefix: [u8; 7] = unhex(&v["nonce_prefix"]).try_into().unwrap();
    let params = BackupParams::from_parts(
        Generation(v["generation"].parse().unwrap()),
        ChunkSize::new(v["chunk_size"].parse().unwrap()).unwrap(),
        backup_id,
        NoncePrefix(prefix),
    );

    assert_eq!(key.fingerprint().to_string(), v["fingerprint"]);
    assert_eq!(
        hex(&*key.derive(Purpose::BackupPayload, &backup_id.0)),
        v["payload_key"]
    );
    assert_eq!(
        hex(&*key.derive(Purpose::BackupHeaderMac, &backup_id.0)),
        v["header_mac_key"]
    );
    for i in 0..3u32 {
        assert_eq!(
            hex(&chunk_nonce(&prefix, i, i == 2)),
            v[&format!("nonce_{i}")]
        );
    }

    let ours = format::encrypt(&key, &params, &plaintext);
    let lines: Vec<String> = ours.chunks(16).map(hex).collect();
    assert_eq!(
        hex(&ours),
        hex(&file),
        "the file differs from docs/format.md; ours is:\n{}",
        lines.join("\n")
    );
    assert_eq!(ours.len().to_string(), v["file_len"]);
    let (header, decrypted) = format::decrypt(&key, &file).unwrap();
    assert_eq!(hex(&header.digest()), v["header_digest"]);
    assert_eq!(decrypted, plaintext);
}
