#!/usr/bin/env bash
# scripts/ceph-rgw.sh install|up|down [DIR]
#   install  the Debian packages (ceph-mon ceph-osd radosgw ceph-common), if missing
#   up       boot a throwaway single-node Ceph with the RADOS Gateway (S3) on 127.0.0.1:7480
#            (memstore OSD, no systemd); prints the S3 settings, also written to DIR/env
#   down     stop exactly what `up` started and remove DIR
# DIR defaults to /tmp/coffer-ceph. Boot takes ~1.5 s; RSS ~135 MiB idle; data lives in RAM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${2:-${CEPH_DEV_DIR:-/tmp/coffer-ceph}}
case "${1:-}" in
  install)
    if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
      echo "[ceph-rgw] installing ceph-mon ceph-osd radosgw ceph-common from Debian (about 25 s)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
    fi ;;
  up) exec "$here/ceph-rgw-up.sh" "$dir" ;;
  down) exec "$here/ceph-rgw-down.sh" "$dir" ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
