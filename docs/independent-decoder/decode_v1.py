#!/usr/bin/env python3
"""An independent decoder for bvault backup format v1, written from docs/format.md alone.

It shares no code with the Rust implementation: only the specification. If the
two ever disagree, one of them (or the spec) is wrong. Needs the `cryptography`
package (pip install cryptography).

Usage:
  decode_v1.py --vector docs/format.md          check the spec's test vector (section 9)
  decode_v1.py KEYFILE BACKUP [OUT]             decrypt BACKUP with the 64-digit key in KEYFILE

Exit codes follow bvault's: 0 ok, 2 bad key text, 3 wrong key, 4 damaged, 5 unsupported.
"""
import hashlib
import hmac
import re
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidTag

MAGIC = b"\x89BVLT\r\n\x1a"
HEADER_LEN = 112
TAG = 16
MAX_CHUNK = 16 * 1024 * 1024


class FormatError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_key_text(text):
    """Section 2.1."""
    if len(text.encode("utf-8")) > 4096:
        raise FormatError(2, "key text too long")
    digits = []
    line, column = 1, 0
    for position, ch in enumerate(text):
        column += 1
        if ch == "\n":
            line, column = line + 1, 0
            continue
        if ch in " -\r":
            continue
        if ch not in "0123456789abcdefABCDEF":
            raise FormatError(2, f"invalid character {ch!r} at line {line}, column {column} (character {position})")
        digits.append(ch)
    if len(digits) != 64:
        raise FormatError(2, f"expected 64 hex digits, found {len(digits)}")
    return bytes.fromhex("".join(digits))


def subkey(key, label, salt=b""):
    """Section 3: HKDF-SHA256(salt, K, label, 32)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt or None, info=label.encode()).derive(key)


def fingerprint(key):
    return subkey(key, "bvault v1 key fingerprint")[:16]


def parse_header(h, key):
    """Section 5.1, steps 1-10, in order."""
    n = min(len(h), 8)
    if h[:n] != MAGIC[:n]:
        raise FormatError(4, "bad header: magic")
    if len(h) < 10:
        raise FormatError(4, "truncated in header")
    version = int.from_bytes(h[8:10], "big")
    if version != 1:
        raise FormatError(5, f"unsupported version {version}")
    if len(h) < HEADER_LEN:
        raise FormatError(4, "truncated in header")
    if hashlib.sha256(h[:96]).digest()[:16] != h[96:112]:
        raise FormatError(4, "bad header: checksum")
    algorithm = int.from_bytes(h[10:12], "big")
    if algorithm != 1:
        raise FormatError(5, f"unsupported algorithm {algorithm}")
    if h[47] != 0:
        raise FormatError(4, "bad header: reserved")
    chunk_size = int.from_bytes(h[12:16], "big")
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise FormatError(4, "bad header: chunk size")
    backup_id = h[24:40]
    if not hmac.compare_digest(h[48:64], fingerprint(key)):
        raise FormatError(3, "wrong key")
    mac = hmac.new(subkey(key, "bvault v1 backup header mac key", backup_id), h[:64], hashlib.sha256).digest()
    if not hmac.compare_digest(mac, h[64:96]):
        raise FormatError(4, "bad header: MAC")
    return {
        "chunk_size": chunk_size,
        "generation": int.from_bytes(h[16:24], "big"),
        "backup_id": backup_id,
        "nonce_prefix": h[40:47],
        "digest": hashlib.sha256(h[:HEADER_LEN]).digest(),
    }


def nonce(prefix, i, last):
    """Section 6.2."""
    return prefix + i.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def decrypt(key, data):
    """Sections 6.4: returns (header fields, plaintext) or raises FormatError."""
    hdr = parse_header(data[:HEADER_LEN], key)
    aead = AESGCM(subkey(key, "bvault v1 backup payload key", hdr["backup_id"]))
    full = hdr["chunk_size"] + TAG
    body = data[HEADER_LEN:]
    out = bytearray()
    i, at = 0, 0

    def opens(chunk, last):
        try:
            return aead.decrypt(nonce(hdr["nonce_prefix"], i, last), chunk, hdr["digest"])
        except InvalidTag:
            return None

    while True:
        if i > 0xFFFFFFFF:
            raise FormatError(4, "too many chunks")
        more_follows = len(body) - at > full
        chunk = body[at:at + full] if more_follows else body[at:]
        if more_follows:
            plain = opens(chunk, False)
            if plain is None:
                if opens(chunk, True) is not None:
                    raise FormatError(4, f"trailing data after final chunk {i}")
                raise FormatError(4, f"corrupt chunk {i}")
            out += plain
            at += full
            i += 1
            continue
        if len(chunk) < TAG:
            raise FormatError(4, f"truncated at chunk {i}")
        plain = opens(chunk, True)
        if plain is not None:
            if len(plain) == 0 and i > 0:
                raise FormatError(4, f"corrupt chunk {i} (empty final chunk)")
            out += plain
            return hdr, bytes(out)
        if len(chunk) == full and opens(chunk, False) is not None:
            raise FormatError(4, f"truncated after chunk {i}")
        raise FormatError(4, f"corrupt chunk {i}")


def check_vector(spec_path):
    """Re-derives every value of section 9 and decodes its file."""
    text = open(spec_path, encoding="utf-8").read()
    block = text[text.index("<!-- test-vector:begin -->"):text.index("<!-- test-vector:end -->")]
    fields, file_hex, in_file = {}, "", False
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("```") or line.startswith("<!--"):
            continue
        if in_file:
            file_hex += line
        elif line == "file":
            in_file = True
        else:
            name, value = line.split(" ", 1)
            fields[name] = value.strip()
    key = bytes.fromhex(fields["key"])
    assert parse_key_text(fields["key_text"]) == key, "key_text"
    backup_id = bytes.fromhex(fields["backup_id"])
    assert fingerprint(key).hex() == fields["fingerprint"], "fingerprint"
    assert subkey(key, "bvault v1 backup payload key", backup_id).hex() == fields["payload_key"], "payload_key"
    assert subkey(key, "bvault v1 backup header mac key", backup_id).hex() == fields["header_mac_key"], "header_mac_key"
    data = bytes.fromhex(file_hex)
    assert len(data) == int(fields["file_len"]), "file_len"
    hdr, plain = decrypt(key, data)
    assert hdr["digest"].hex() == fields["header_digest"], "header_digest"
    assert hdr["chunk_size"] == int(fields["chunk_size"]) and hdr["generation"] == int(fields["generation"])
    assert plain == fields["plaintext"].strip('"').encode(), "plaintext"
    n = -(-len(plain) // hdr["chunk_size"])
    for i in range(n):
        assert nonce(bytes.fromhex(fields["nonce_prefix"]), i, i == n - 1).hex() == fields[f"nonce_{i}"]
    print(f"test vector OK: {len(data)} bytes, {n} chunks, plaintext {plain!r}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "--vector":
        check_vector(argv[1])
        return 0
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        key = parse_key_text(open(argv[0], encoding="utf-8").read())
        hdr, plain = decrypt(key, open(argv[1], "rb").read())
    except FormatError as e:
        print(f"decode_v1: error: {e}", file=sys.stderr)
        return e.code
    if len(argv) == 3:
        open(argv[2], "wb").write(plain)
    print(f"ok: generation {hdr['generation']}, {len(plain)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
