#!/bin/bash
# prints: unix_time_ms name utime stime rss_pages, every 1 s
while true; do
  t=$(date +%s%3N)
  for n in origin:$(cat /tmp/hn/origin.pid) nginx:$(cat /tmp/hn/ng/nginx.pid.run); do
    p=${n#*:}; s=$(cut -d' ' -f14,15,24 /proc/$p/stat); echo "$t ${n%%:*} $s"
  done
  sleep 1
done
