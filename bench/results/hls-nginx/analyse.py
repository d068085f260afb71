#!/usr/bin/env python3
"""Summarise one run dir: origin/nginx CPU and RSS from samples.txt (sample.sh),
requests and origin requests from nginx-access.log.gz (hls-cache.conf's log_format).
Usage: analyse.py RUN_DIR SKIP_SECONDS (skip = ramp + settle, left out of the CPU window)."""
import collections, gzip, re, sys
d, skip = sys.argv[1], int(sys.argv[2])
s = int(open(d + '/run_start').read()); e = int(open(d + '/run_end').read())
rows = [l.split() for l in open(d + '/samples.txt')]
for name in ('origin', 'nginx'):
    r = [x for x in rows if x[1] == name and s + skip * 1000 <= int(x[0]) <= e - 1000]
    f, l = r[0], r[-1]; dt = (int(l[0]) - int(f[0])) / 1000  # CLK_TCK 100, 4 KiB pages
    u = (int(l[2]) - int(f[2])) / 100; k = (int(l[3]) - int(f[3])) / 100
    rss = [int(x[4]) * 4096 / 2**20 for x in r]
    print(f"{name}: {dt:.1f} s window, {u+k:.2f} s CPU = {100*(u+k)/dt:.2f} % of one core (kernel {100*k/dt:.2f} %), RSS {rss[0]:.1f} -> {rss[-1]:.1f} MiB")
pat = re.compile(r'^(\S+) "(\S+)" (\d+) cache=(\S+) origin=(.*) origin_status=(.*)$')
c = collections.Counter(); up = collections.Counter(); ups = collections.Counter(); segs = set(); n = 0
for line in gzip.open(d + '/nginx-access.log.gz', 'rt'):
    t, path, status, cache, origin, ost = pat.match(line.strip()).groups(); n += 1
    kind = 'segment' if path.startswith('/hls/') else 'playlist'
    c[f"{kind} {cache} {status}"] += 1
    if kind == 'segment': segs.add(path)
    if origin != '-':
        up[kind] += len(origin.split(', '))
        if kind == 'segment': ups[path] += 1
print(f"nginx requests: {n}; " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
print(f"origin requests: {sum(up.values())} ({up['playlist']} playlist, {up['segment']} segment); distinct segments {len(segs)}, fetched from the origin more than once: {sum(1 for v in ups.values() if v > 1)}")
