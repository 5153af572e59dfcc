#!/usr/bin/env bash
# Builds a Node.js 20 base image without any image registry: a minimal Debian 12 (bookworm) root
# filesystem from debootstrap, plus this machine's own Node.js 20, npm and Node headers, imported
# into podman (or docker) as localhost/coffer-node20-base. Then:
#
#   podman build --format docker --build-arg NODE_IMAGE=localhost/coffer-node20-base -f deploy/Dockerfile -t coffer .
#
# Where Docker Hub is reachable, skip this: deploy/Dockerfile defaults to node:20-bookworm-slim.
# Needs root, debootstrap and podman (or docker); Debian's own nodejs is 18, too old, so the host
# must have Node.js 20 installed (e.g. from NodeSource). Host trust anchors are copied in too
# (/etc/ssl/certs/ca-certificates.crt), so that npm inside the build trusts what the host trusts.
#
#   bash deploy/make-local-base.sh [image-name]      # default localhost/coffer-node20-base
#
# In a sandbox whose podman cannot start containers as it is (crun refusing hybrid cgroups, or
# setrlimit refused), point podman at deploy/podman-sandbox.conf first: see deploy/README.md.
set -euo pipefail

IMAGE="${1:-localhost/coffer-node20-base}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOTFS="$(mktemp -d /tmp/coffer-base-rootfs.XXXXXX)"
ENGINE="${ENGINE:-$(command -v podman || command -v docker)}"
trap 'rm -rf "$ROOTFS"' EXIT

node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
case "$node_version" in v2[0-9].*) ;; *) echo "need Node.js >= 20 on the host, found $node_version" >&2; exit 1 ;; esac
prefix="$(dirname "$(dirname "$node_bin")")"            # /usr or /usr/local
npm_dir="$prefix/lib/node_modules/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "npm not found at $npm_dir" >&2; exit 1; }

echo "== debootstrap bookworm (minbase) from $MIRROR into $ROOTFS"
debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOTFS" "$MIRROR"

echo "== Node.js $node_version from $prefix"
install -D -m 0755 "$node_bin" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include"
cp -a "$npm_dir" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
# Headers, so node-gyp (better-sqlite3 without a prebuilt binary) needs no download.
[ -d "$prefix/include/node" ] && cp -a "$prefix/include/node" "$ROOTFS/usr/local/include/node"
# The host's trust anchors (a TLS-inspecting egress proxy's CA included, where there is one).
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"

# Smaller: no apt lists, docs or man pages.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*
chroot "$ROOTFS" /usr/local/bin/node --version

echo "== import as $IMAGE"
tar -C "$ROOTFS" -c . | "$ENGINE" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  - "$IMAGE"
"$ENGINE" run --rm "$IMAGE" node --version \
  || echo "warning: $IMAGE is imported, but '$ENGINE run' failed on this machine: see deploy/README.md (podman in a sandbox)" >&2
