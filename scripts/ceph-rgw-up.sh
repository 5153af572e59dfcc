#!/usr/bin/env bash
# ceph-rgw-up.sh [DIR]  -- boot a throwaway single-node Ceph (Pacific, Debian 12 packages)
# with one memstore OSD and radosgw (S3) on 127.0.0.1, without systemd.
#
# Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
#        (ceph-mgr only if CEPH_WITH_MGR=1)
# Env:   RGW_PORT (7480) MON_PORT (3300) S3_ACCESS_KEY S3_SECRET_KEY
#        CEPH_WITH_MGR=1 to also start a manager (not needed for S3)
#        CEPH_OBJECTSTORE=memstore|bluestore (memstore)
# Stop with ceph-rgw-down.sh [DIR]. PIDs are kept in DIR/pids/*.pid.
set -euo pipefail

D=${1:-${CEPH_DEV_DIR:-/tmp/ceph-dev}}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-3300}
ACCESS_KEY=${S3_ACCESS_KEY:-TESTACCESSKEY0000000}
SECRET_KEY=${S3_SECRET_KEY:-testsecretkey0000000000000000000000000000}
OBJECTSTORE=${CEPH_OBJECTSTORE:-memstore}
WITH_MGR=${CEPH_WITH_MGR:-0}
T0=${EPOCHREALTIME/./}   # microseconds (bash >= 5)

elapsed() { local us=$(( ${EPOCHREALTIME/./} - T0 )); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }
log() { printf '[rgw-up %6ss] %s\n' "$(elapsed)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# a PID is alive if it exists and is not a zombie (PID 1 here reaps late; kill -0 succeeds on zombies)
alive() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$st" ] && [ "$st" != Z ]; }

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$b" >/dev/null || die "missing $b (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl)"
done

# --- refuse / clean an existing dir --------------------------------------------
if [ -e "$D" ]; then
  [ -f "$D/ceph.conf" ] && [ -d "$D/pids" ] || [ -z "$(ls -A "$D" 2>/dev/null)" ] \
    || die "$D exists and is not an ceph-rgw-up.sh dir; refusing to touch it"
  for p in "$D"/pids/*.pid; do
    [ -f "$p" ] || continue
    if alive "$(cat "$p")"; then
      die "$D already has a running cluster ($(basename "$p") pid $(cat "$p")); run ceph-rgw-down.sh $D first"
    fi
  done
  log "removing stale $D"
  rm -rf "$D"
fi
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy "$RGW_PORT" && die "port $RGW_PORT already in use"
port_busy "$MON_PORT" && die "port $MON_PORT already in use"

mkdir -p "$D"/{mon/a,osd/0,rgw,log,run,pids,crash}
# on any failure from here on: stop what this run started, keep $D (logs) for inspection
on_exit() {
  local rc=$?
  [ $rc = 0 ] && return
  for f in "$D"/pids/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  log "failed (rc=$rc); daemons killed, logs kept in $D/log"
}
trap on_exit EXIT
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
CONF="$D/ceph.conf"
export CEPH_CONF="$CONF"

# --- ceph.conf ------------------------------------------------------------------
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
log to stderr = false
crash dir = $D/crash
mon cluster log file = $D/log/cluster.log
# one OSD, no replication
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd crush initial weight = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# don't refuse to run on a nearly full CI disk (mon data lives in \$D)
mon data avail crit = 1
mon data avail warn = 2
# fast: every osdmap change (osd boot, each pool rgw creates) otherwise waits ~1 s for paxos
paxos propose interval = 0.01
paxos min wait = 0.001
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = $D/mon/\$id
keyring = $D/mon/\$id/keyring

[mgr]
mgr data = $D/mgr/\$id
keyring = $D/keyring.mgr
mgr initial modules =

[osd]
osd data = $D/osd/\$id
keyring = $D/osd/\$id/keyring
osd objectstore = $OBJECTSTORE
memstore device bytes = 4294967296
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mount = false
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw]
keyring = $D/keyring.rgw
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 64
rgw dns name = localhost
# delete tails of overwritten/deleted objects within seconds, not 2 h (memstore keeps them in RAM)
rgw gc obj min wait = 0
rgw gc processor period = 5
EOF

# --- keyrings -----------------------------------------------------------------
{
ceph-authtool --create-keyring "$D/keyring.mon" --gen-key -n mon. --cap mon 'allow *'
ceph-authtool --create-keyring "$D/keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
ceph-authtool --create-keyring "$D/osd/0/keyring" --gen-key -n osd.0 \
  --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
ceph-authtool --create-keyring "$D/keyring.rgw" --gen-key -n client.rgw \
  --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw'
ceph-authtool --create-keyring "$D/keyring.mgr" --gen-key -n mgr.x \
  --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *'
# every key goes into the monitor's initial auth database (no `ceph auth add` later)
for k in keyring osd/0/keyring keyring.rgw keyring.mgr; do
  ceph-authtool "$D/keyring.mon" --import-keyring "$D/$k"
done
} >/dev/null

# --- monitor ------------------------------------------------------------------
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring.mon" >"$D/log/mon.a.mkfs.out" 2>&1 \
  || { cat "$D/log/mon.a.mkfs.out" >&2; die "ceph-mon --mkfs failed"; }
cp "$D/keyring.mon" "$D/mon/a/keyring" 2>/dev/null || true

start() { # name cmd...   run in foreground mode, detached, remember the PID
  local name=$1; shift
  setsid "$@" -f </dev/null >"$D/log/$name.out" 2>&1 &
  echo $! >"$D/pids/$name.pid"
}
start mon.a ceph-mon -i a
log "mon started (pid $(cat "$D/pids/mon.a.pid"))"

# `ceph osd new` registers osd.0 in the osdmap (its key is already in auth)
for i in $(seq 1 100); do
  if OSD_ID=$(ceph --connect-timeout 5 osd new "$OSD_UUID" 0 2>"$D/log/osd-new.err"); then break; fi
  alive "$(cat "$D/pids/mon.a.pid")" || { tail -20 "$D/log/mon.a.log" >&2; die "ceph-mon died"; }
  sleep 0.2
done
[ "${OSD_ID:-}" = 0 ] || { cat "$D/log/osd-new.err" >&2; die "ceph osd new failed"; }
log "osd.0 registered"

if [ "$WITH_MGR" = 1 ]; then
  mkdir -p "$D/mgr/x"
  start mgr.x ceph-mgr -i x
  log "mgr started"
fi

# --- OSD ------------------------------------------------------------------------
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$D/log/osd.0.mkfs.out" 2>&1 \
  || { cat "$D/log/osd.0.mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
start osd.0 ceph-osd -i 0
log "osd started (pid $(cat "$D/pids/osd.0.pid"))"
# start radosgw only once osd.0 is up in the osdmap: an rgw started earlier parks its
# first ops until the objecter's next tick and boot takes ~5 s longer
for i in $(seq 1 300); do
  ceph osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' && break
  alive "$(cat "$D/pids/osd.0.pid")" || { tail -30 "$D/log/osd.0.log" >&2; die "ceph-osd died"; }
  sleep 0.1
done
ceph osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' || die "osd.0 did not come up"
log "osd.0 up"

# --- RGW ------------------------------------------------------------------------
start rgw radosgw -n client.rgw
log "radosgw started (pid $(cat "$D/pids/rgw.pid"))"

URL="http://127.0.0.1:$RGW_PORT"
for i in $(seq 1 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/" || true)
  [ "$code" = 200 ] && break
  for n in mon.a osd.0 rgw; do
    alive "$(cat "$D/pids/$n.pid")" || { tail -30 "$D/log/$n.out" "$D/log/"*"$n"*.log >&2 || true; die "$n died"; }
  done
  sleep 0.2
done
[ "$code" = 200 ] || die "radosgw did not answer on $URL (last http code: $code)"
log "S3 answers on $URL"

radosgw-admin -n client.admin user create --uid=test --display-name="test user" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$D/log/user-create.json" 2>"$D/log/user-create.err" \
  || { cat "$D/log/user-create.err" >&2; die "radosgw-admin user create failed"; }
log "user 'test' created"

# one SigV4-signed request proves the keys work (curl >= 7.75 has --aws-sigv4; RGW needs x-amz-content-sha256)
if curl --help all 2>/dev/null | grep -q aws-sigv4; then
  for i in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      --user "$ACCESS_KEY:$SECRET_KEY" "$URL/" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || die "signed ListBuckets failed (http $code)"
  log "signed ListBuckets OK"
fi

cat >"$D/env" <<EOF
export S3_ENDPOINT=$URL
export S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export CEPH_CONF=$CONF
EOF
log "ready in $(elapsed)s"
cat "$D/env"
