#!/usr/bin/env python3
"""Runs a command and prints its wall time and the peak total RSS of its process tree.

GNU time reports the largest single process; a scan with policy workers is several processes,
so this samples /proc every 20 ms and sums the resident memory of the command and every
descendant. usage: bench/tree_rss.py COMMAND [ARGS...]   → prints "WALL_SECONDS PEAK_KB"
"""
import os
import subprocess
import sys
import time


def children():
    """parent pid -> [child pids], for every process."""
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(root):
    kids = children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss_kb(pid)
        todo.extend(kids.get(pid, []))
    return total


def main():
    started = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    print(f"{time.monotonic() - started:.2f} {peak}")


if __name__ == "__main__":
    main()
