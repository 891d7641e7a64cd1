#!/usr/bin/env python3
"""Resident memory of a process by mapping (binary, each library, heap), anonymous part apart.
Usage: smaps.py PID"""
import sys, re, collections
pid = sys.argv[1]
agg = collections.Counter(); anon = collections.Counter()
cur = None
for line in open(f"/proc/{pid}/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        parts = line.split()
        cur = parts[5] if len(parts) > 5 else "[anon]"
    elif line.startswith("Rss:"):
        agg[cur] += int(line.split()[1])
    elif line.startswith("Anonymous:"):
        anon[cur] += int(line.split()[1])
tot = sum(agg.values())
print("total Rss kB", tot, "anon", sum(anon.values()))
for k, v in agg.most_common(25):
    print(f"{v:8d} kB  anon {anon[k]:6d}  {k}")
