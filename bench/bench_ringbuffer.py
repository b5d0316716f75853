#!/usr/bin/env python
"""
Measure L{mice.ringbuffer}: appends per second, MB/s and peak RSS.

    python bench/bench_ringbuffer.py [--dir DIR] [--ring-bytes 67108864]
        [--sync-every 100] [--mb 2000]

For 1 KB and 100 KB payloads, an L{MmapRing} in C{DIR} (default: the
temporary directory; put it on the disk the daemon will use) takes appends
with an msync every C{--sync-every} appends, as the BufferDaemon does before
acknowledging, while a post-processor stand-in peeks and releases the oldest
half whenever the ring is more than half full.  About C{--mb} MB of payload
go through each run, so the ring wraps many times; each append gets a newly
allocated payload, as from the network.  A L{MemoryRing} of the same byte
capacity is shown for comparison, and the time to reopen (replay) a full
mmap ring.

Each run is a fresh process, so its peak RSS is its own.  For the mmap ring
RSS includes the file pages it touched (shared, page cache), which is at most
the ring's size.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mice.ringbuffer import MemoryRing, MmapRing  # noqa: E402


def peakRSS():
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def drain(ring):
    """
    What the post-processor does every TIMEINV: take the oldest entries
    (copying their payloads out), store them (not measured), release them.
    """
    entries = ring.peek(maxEntries=max(1, len(ring) // 2))
    ring.release(entries[-1].seq)


def run(kind, size, args):
    payloads = [os.urandom(size) for _ in range(8)]
    count = max(args.sync_every, args.mb * 1000 * 1000 // size)
    if kind == "mmap":
        path = os.path.join(args.dir, f"bench-ring-{os.getpid()}")
        ring = MmapRing(path, 1_000_000, args.ring_bytes)
    else:
        path = None
        ring = MemoryRing(1_000_000, args.ring_bytes)
    syncs = 0
    started = time.perf_counter()
    for n in range(count):
        # A new object per batch, as the network layer hands them over.
        payload = bytes(memoryview(payloads[n & 7]))
        if not ring.canAppend(size):
            drain(ring)
        ring.append(payload, obj=n)
        if n % args.sync_every == args.sync_every - 1:
            ring.sync()
            syncs += 1
            if ring.usedBytes > args.ring_bytes // 2:
                drain(ring)
    ring.sync()
    elapsed = time.perf_counter() - started
    result = {
        "kind": kind,
        "size": size,
        "appends": count,
        "seconds": elapsed,
        "appendsPerSecond": count / elapsed,
        "mbPerSecond": count * size / elapsed / 1e6,
        "syncs": syncs,
    }
    if kind == "mmap":
        while ring.canAppend(size):
            ring.append(payloads[0])
        entries = len(ring)
        ring.close()
        started = time.perf_counter()
        ring = MmapRing(path, 1_000_000, args.ring_bytes)
        result["replaySeconds"] = time.perf_counter() - started
        result["replayEntries"] = ring.replayed
        assert ring.replayed == entries, (ring.replayed, entries)
        ring.close()
        os.unlink(path)
    result["peakRSS"] = peakRSS()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--ring-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--sync-every", type=int, default=100)
    parser.add_argument("--mb", type=int, default=2000)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, size = args.one
        print(json.dumps(run(kind, int(size), args)))
        return
    print(
        f"ring: {args.ring_bytes / 2**20:.0f} MiB data region in {args.dir}; "
        f"sync every {args.sync_every} appends; {args.mb} MB per run"
    )
    for kind in ("mmap", "memory"):
        for size in (1024, 100 * 1024):
            output = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(size)]
                + ["--dir", args.dir, "--ring-bytes", str(args.ring_bytes)]
                + ["--sync-every", str(args.sync_every), "--mb", str(args.mb)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(output)
            line = (
                f"{kind:6} {size // 1024:4d} KB: {r['appendsPerSecond']:10,.0f} appends/s "
                f"{r['mbPerSecond']:8,.0f} MB/s  peak RSS {r['peakRSS']:6.1f} MiB"
            )
            if kind == "mmap":
                line += (
                    f"  reopen of a full ring: {r['replayEntries']} entries in "
                    f"{r['replaySeconds'] * 1000:.0f} ms"
                )
            print(line)


if __name__ == "__main__":
    main()
