#!/usr/bin/env bash
# ceph-rgw-down.sh [DIR] -- stop exactly the daemons ceph-rgw-up.sh started (PIDs in DIR/pids) and remove DIR.
# SIGTERM, one daemon after the other, SIGKILL after 10 s. RGW_DOWN_SIGNAL=KILL skips the
# graceful part (fine: the cluster is throwaway, memstore keeps nothing).
# KEEP_LOGS=1 copies DIR/log to DIR.logs before removing DIR.
set -uo pipefail
D=${1:-${CEPH_DEV_DIR:-/tmp/ceph-dev}}
[ -d "$D" ] || { echo "[rgw-down] $D does not exist, nothing to do" >&2; exit 0; }
[ -f "$D/ceph.conf" ] && [ -d "$D/pids" ] || { echo "[rgw-down] $D is not an ceph-rgw-up.sh dir, refusing to remove it" >&2; exit 1; }

n_stopped=0
# alive = exists and not a zombie (PID 1 may reap late; kill -0 succeeds on zombies)
alive() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$st" ] && [ "$st" != Z ]; }
stop() { # signal the given daemons, wait up to 10 s, then SIGKILL what is left
  local ps=() p f i any
  for f in "$@"; do
    f="$D/pids/$f.pid"; [ -f "$f" ] || continue
    p=$(cat "$f")
    alive "$p" || continue
    # only a PID whose command line is a ceph daemon (guards against PID reuse)
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qE '^(ceph-mon|ceph-osd|ceph-mgr|radosgw) ' || continue
    kill -"${RGW_DOWN_SIGNAL:-TERM}" "$p" 2>/dev/null && ps+=("$p")
  done
  for i in $(seq 1 200); do
    any=0; for p in "${ps[@]}"; do alive "$p" && any=1; done
    [ $any = 0 ] && break; sleep 0.05
  done
  for p in "${ps[@]}"; do
    alive "$p" && { echo "[rgw-down] pid $p still up 10 s after SIG${RGW_DOWN_SIGNAL:-TERM}, SIGKILL" >&2; kill -KILL "$p" 2>/dev/null; }
  done
  for p in "${ps[@]}"; do while alive "$p"; do sleep 0.05; done; done
  n_stopped=$((n_stopped + ${#ps[@]}))
}
# one at a time, clients first (~0.3 s in all): an OSD stopped together with the monitor
# waits 5 s for the monitor to ack its mark-down
stop rgw; stop mgr.x; stop osd.0; stop mon.a
[ "${KEEP_LOGS:-0}" = 1 ] && { rm -rf "$D.logs"; cp -r "$D/log" "$D.logs"; }
rm -rf "$D"
echo "[rgw-down] stopped $n_stopped daemon(s), removed $D" >&2
