#!/usr/bin/env python3
"""Peak memory of `bvault backup encrypt/decrypt` against the stated bound.

    benches/memory-bound.py BVAULT [LARGE_MIB]      (default: 128)

Runs encrypt and decrypt with -j 1, -j 2 and -j 8 on a tiny input (5 bytes)
and a large one (LARGE_MIB MiB), at 16 MiB chunks (the format's largest, where
a wasted buffer costs most) and 64 KiB (the default), and reads each
process's peak resident memory (`ru_maxrss` from wait4). Each must stay
within the bound `docs/format.md` and `impl/src/format/parallel.rs` state,
on top of the resident size of the same command on an empty input at 64 KiB
chunks (the program itself):

- one worker per run of chunks in flight (a run is about 1 MiB of chunks, at
  least one chunk), at most -j N of them, and never more workers than the
  input has runs;
- per worker, buffers of at most one run to encrypt and two to decrypt
  (`parallel::buffer_bound`), and of 8 KiB while a run's data fits in that;
- plus 6 MiB for bvault's own output buffer, thread stacks and the allocator.

Exits 1 if any run exceeds its bound; prints a table either way.
"""
import os
import subprocess
import sys
import tempfile

MIB = 1 << 20
TAG = 16
MIN_BUFFER = 8 << 10


def peak_rss(argv):
    """Runs argv to completion; returns its peak resident memory in bytes."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {proc.returncode}")
    return usage.ru_maxrss * 1024  # Linux reports KiB


def buffer_bound(length, chunk, threads, decrypting):
    """parallel::buffer_bound for the workers an input of `length` bytes can
    use (one per run of about 1 MiB of chunks), with buffers of 8 KiB while
    a run's data fits in that."""
    run = max(1, MIB // chunk)
    chunks = max(1, -(-length // chunk))
    workers = min(-(-chunks // run), threads)
    per_run = run * (chunk + TAG) + 1
    stated = per_run + run * chunk + 2 * MIN_BUFFER if decrypting else per_run + MIN_BUFFER
    data = min(length, run * chunk) + run * TAG + 1
    small = (2 if decrypting else 1) * MIN_BUFFER
    return workers * (small if data <= MIN_BUFFER else stated)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bvault = sys.argv[1]
    large_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key")
        subprocess.run([bvault, "key", "new", "--out", key], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        inputs = {"empty": b"", "tiny": b"hello"}
        for name, data in inputs.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        with open(os.path.join(tmp, "large"), "wb") as f:
            for _ in range(large_mib):
                f.write(os.urandom(MIB))
        sizes = {"empty": 0, "tiny": 5, "large": large_mib * MIB}

        def encrypt(name, chunk, threads):
            src = os.path.join(tmp, name)
            dst = os.path.join(tmp, f"{name}.{chunk}.bvault")
            argv = [bvault, "backup", "encrypt", "-q", "-f", "-j", str(threads),
                    "--chunk-size", str(chunk), "-k", key, src, dst]
            return peak_rss(argv), dst

        def decrypt(src, threads):
            dst = os.path.join(tmp, "restored")
            argv = [bvault, "backup", "decrypt", "-q", "-f", "-j", str(threads), "-k", key, src, dst]
            return peak_rss(argv)

        base_enc, empty_file = encrypt("empty", 64 << 10, 1)
        base_dec = decrypt(empty_file, 1)
        print(f"program alone (empty input, 64 KiB chunks): encrypt {base_enc / MIB:.1f} MiB, "
              f"decrypt {base_dec / MIB:.1f} MiB")
        print("| input | chunk | -j | encrypt MiB | bound MiB | decrypt MiB | bound MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in ["tiny", "large"]:
            for chunk in [16 << 20, 64 << 10]:
                for threads in [1, 2, 8]:
                    enc, file = encrypt(name, chunk, threads)
                    dec = decrypt(file, threads)
                    io = 2 * MIB + 4 * MIB
                    enc_bound = base_enc + buffer_bound(sizes[name], chunk, threads, False) + io
                    dec_bound = base_dec + buffer_bound(sizes[name], chunk, threads, True) + io
                    bad = enc > enc_bound or dec > dec_bound
                    failures += bad
                    print(f"| {name} | {chunk >> 10} KiB | {threads} | {enc / MIB:.1f} | "
                          f"{enc_bound / MIB:.1f} | {dec / MIB:.1f} | {dec_bound / MIB:.1f} |"
                          + (" OVER" if bad else ""))
    if failures:
        sys.exit(f"{failures} run(s) over the stated memory bound")
    print("every run within the stated memory bound")


if __name__ == "__main__":
    main()
