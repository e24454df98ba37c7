#!/usr/bin/env bash
# Builds a local stand-in for the base image docker.io/library/node:20-bookworm-slim, for machines that
# cannot pull from Docker Hub (CI here): a Debian bookworm minbase root file system from the Debian mirror
# apt already uses, plus this machine's node, npm and corepack laid out as the official image lays them out
# (/usr/local/bin/node, /usr/local/lib/node_modules/{npm,corepack}, user "node" with uid 1000).
#
# It is not the official image: the node binary is this machine's (same major, 20.x), and the CA bundle of
# this machine is added (with NODE_EXTRA_CA_CERTS) because its outbound HTTPS goes through a TLS proxy.
# Where the real image can be pulled, do not run this script.
#
# Skips everything when the image exists. The debootstrap output is cached in $RAG_BASE_CACHE
# (default /var/cache/rag-base), so building the image again takes seconds.
set -euo pipefail

image=docker.io/library/node:20-bookworm-slim
cache=${RAG_BASE_CACHE:-/var/cache/rag-base}
suite=bookworm

log() { printf '[make-base-image] %s\n' "$*" >&2; }

need=()
for tool in buildah podman debootstrap runc; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q buildah podman debootstrap runc >/dev/null
fi

if podman image exists "$image"; then
  log "$image exists; nothing to do"
  exit 0
fi

# The mirror apt is configured with (deb822 sources first, then the one-line format).
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
  } | grep -v security | grep -m1 '/debian/\?$' || true
)
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$cache/$suite-minbase
if [ ! -f "$rootfs/.complete" ]; then
  log "debootstrap --variant=minbase $suite from $mirror (once; cached in $rootfs)"
  rm -rf "$rootfs"
  mkdir -p "$cache"
  start=$SECONDS
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -20 "$cache/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  touch "$rootfs/.complete"
  log "debootstrap took $((SECONDS - start)) s"
fi

work=$(mktemp -d /var/tmp/rag-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$rootfs" "$work/root"
root=$work/root
rm -f "$root/.complete"

node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(dirname "$(dirname "$node_bin")")
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
for dir in npm corepack; do
  if [ -d "$node_prefix/lib/node_modules/$dir" ]; then
    cp -a "$node_prefix/lib/node_modules/$dir" "$root/usr/local/lib/node_modules/"
  fi
done
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
if [ -d "$root/usr/local/lib/node_modules/corepack" ]; then
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
fi
# The official image's unprivileged user.
echo 'node:x:1000:' >>"$root/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$root/etc/passwd"
echo 'node:*:19000:0:99999:7:::' >>"$root/etc/shadow"
mkdir -p "$root/home/node" && chown 1000:1000 "$root/home/node"
# This machine's CA bundle (its egress proxy re-signs TLS); node reads it through NODE_EXTRA_CA_CERTS.
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

node_version=$("$node_bin" --version)
log "importing $image (node $node_version)"
tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  --message "local stand-in for $image" \
  - "$image" >/dev/null
log "built $image"
