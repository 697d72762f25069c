#!/usr/bin/env python3
"""Where a proxy's CPU per new connection goes, from `perf record -g` samples.

Reads `perf script` output (stdin or a file) of one proxy process and sorts every
sample into one bucket by the first frame on its stack that names a kernel entry
point: connect, send, receive, accept, socket creation, socket options, shutdown,
close, the event loop (epoll or io_uring waiting and task work) — or user space when
the sampled frame is the proxy's own code. Prints each bucket's share and, given the
measured CPU µs per connection (--us-per-conn), its µs per connection.

    perf record -g -p PID -o OUT.data -- sleep 4      # while perf/loadgen short runs
    perf script -i OUT.data | perf/conn_breakdown.py --us-per-conn 112 --label ringlbd

perf/bench.sh does not call this; perf/RESULTS.md shows the commands of each run.
"""
from __future__ import annotations

import argparse
import collections
import sys

# (bucket, substrings of a kernel symbol that put a sample there), checked from the
# outermost frame inwards: the first entry point on the stack decides.
ENTRY_POINTS = [
    ("shutdown", ("__sys_shutdown", "io_shutdown")),
    ("close", ("__x64_sys_close", "io_close", "__fput", "task_work_run")),
    ("connect", ("__sys_connect", "io_connect")),
    ("send", ("__sys_sendto", "__sys_sendmsg", "io_send", "io_sendmsg", "do_splice", "__do_splice",
              "__x64_sys_splice", "io_splice")),
    ("receive", ("__sys_recvfrom", "__sys_recvmsg", "io_recv", "io_recvmsg", "__x64_sys_read")),
    ("accept", ("__sys_accept4", "do_accept", "io_accept")),
    ("socket", ("__sys_socket",)),
    ("socket options", ("__sys_setsockopt", "__sys_getsockopt", "__sys_getpeername", "__sys_getsockname",
                        "do_fcntl")),
    ("event loop", ("epoll_wait", "do_epoll_ctl", "io_cqring_wait", "__io_run_local_work", "io_submit_sqes",
                    "__do_sys_io_uring_enter", "io_poll_task_func", "io_arm_apoll")),
]


def classify(frames: list[str]) -> str:
    """frames: symbols from the sampled frame (first) to the outermost (last). The
    outermost specific entry point decides; io_uring_enter and epoll_wait only when
    nothing more specific is below them (io_uring runs connect, send and the rest
    inside io_uring_enter)."""
    if frames and frames[0].startswith("[.]"):
        return "user space"
    loop = False
    for symbol in reversed(frames):
        for bucket, needles in ENTRY_POINTS:
            if any(needle in symbol for needle in needles):
                if bucket != "event loop":
                    return bucket
                loop = True
    return "event loop" if loop else "other kernel"


def read_samples(lines):
    frames: list[str] = []
    in_sample = False
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            if in_sample:
                yield frames
            frames, in_sample = [], False
            continue
        if not line.startswith((" ", "\t")):
            in_sample, frames = True, []
            continue
        parts = line.split()
        if len(parts) >= 2:
            symbol = parts[1].split("+", 1)[0]
            where = parts[-1]
            user = not where.startswith("([kernel") and "vmlinux" not in where
            frames.append(("[.]" if user else "") + symbol)
    if in_sample:
        yield frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="perf script output (default: stdin)")
    parser.add_argument("--us-per-conn", type=float, help="measured proxy CPU µs per connection")
    parser.add_argument("--label", default="proxy")
    args = parser.parse_args()
    source = open(args.file) if args.file else sys.stdin
    counts: collections.Counter[str] = collections.Counter()
    for frames in read_samples(source):
        # A user-space frame below a kernel frame is the caller of a syscall; only the
        # sampled (first) frame decides whether the sample is user space.
        counts[classify(frames)] += 1
    total = sum(counts.values())
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    order = [b for b, _ in ENTRY_POINTS] + ["user space", "other kernel"]
    print(f"{args.label}: {total} samples" + (f", {args.us_per_conn:g} µs per connection" if args.us_per_conn else ""))
    for bucket in order:
        share = counts[bucket] / total
        us = f"{share * args.us_per_conn:8.1f} µs" if args.us_per_conn else ""
        print(f"  {bucket:15s} {100 * share:5.1f} %  {us}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
