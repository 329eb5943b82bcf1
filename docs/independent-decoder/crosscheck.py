#!/usr/bin/env python3
"""Cross-checks bvault against the independent decoder (decode_v1.py).

For a spread of sizes and chunk sizes, and a deterministic seed: bvault
encrypts, decode_v1 decrypts, and the plaintext must match; then damaged,
truncated, extended and wrong-key variants must get the same exit code from
both decoders. Usage: crosscheck.py PATH/TO/bvault [SEED]
"""
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import decode_v1  # noqa: E402


def run(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def main(argv):
    bvault = argv[0]
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 1)
    checks = 0
    with tempfile.TemporaryDirectory() as d:
        keyfile, other = os.path.join(d, "k.txt"), os.path.join(d, "other.txt")
        for path in (keyfile, other):
            r = run([bvault, "key", "new", "--out", path])
            assert r.returncode == 0, r.stderr
        key = decode_v1.parse_key_text(open(keyfile).read())
        cases = [(0, 1), (1, 1), (15, 16), (16, 16), (17, 16), (1000, 7)]
        cases += [(rng.randrange(0, 200_000), rng.choice([1, 100, 4096, 65536])) for _ in range(6)]
        for size, chunk in cases:
            plain = rng.randbytes(size)
            src, enc = os.path.join(d, "p"), os.path.join(d, "e")
            open(src, "wb").write(plain)
            r = run([bvault, "backup", "encrypt", "--quiet", "--force", "--key-file", keyfile,
                     "--chunk-size", str(chunk), "--generation", str(size), src, enc])
            assert r.returncode == 0, r.stderr
            data = open(enc, "rb").read()
            hdr, got = decode_v1.decrypt(key, data)
            assert got == plain and hdr["generation"] == size, (size, chunk)
            checks += 1
            variants = {"wrong key": (data, other)}
            if len(data) > 0:
                pos = rng.randrange(len(data))
                flipped = bytearray(data)
                flipped[pos] ^= 1 << rng.randrange(8)
                variants["bit flip"] = (bytes(flipped), keyfile)
                variants["truncated"] = (data[:rng.randrange(len(data))], keyfile)
                variants["extended"] = (data + b"\0", keyfile)
            for name, (blob, kf) in variants.items():
                path = os.path.join(d, "v")
                open(path, "wb").write(blob)
                ours = run([bvault, "backup", "decrypt", "--quiet", "--force", "--key-file", kf,
                            path, os.path.join(d, "out")]).returncode
                theirs = run([sys.executable, os.path.join(HERE, "decode_v1.py"), kf, path]).returncode
                assert ours == theirs and ours in (3, 4), f"{name} size={size} chunk={chunk}: bvault {ours}, decode_v1 {theirs}"
                checks += 1
    print(f"crosscheck OK: {checks} checks, bvault and decode_v1 agree")


if __name__ == "__main__":
    main(sys.argv[1:])
