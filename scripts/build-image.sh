#!/usr/bin/env bash
# Build the netmatrix image (Dockerfile.agent) with podman, or docker where
# podman is absent, on a machine that may reach no container registry.
#
#   bash scripts/build-image.sh [--tag IMAGE] [--rebuild-base] [--no-cache]
#
# Base images. The Dockerfile takes NODE_IMAGE (a Debian bookworm with Node 20
# at /usr/local/bin/node and npm) and RUNTIME_IMAGE (Debian bookworm-slim).
# Unless NODE_IMAGE / RUNTIME_IMAGE are set in the environment, this script
# uses localhost/debian:bookworm-slim and localhost/node:20-bookworm-slim,
# and makes them when they are missing: debootstrap from Debian's mirror
# (DEBIAN_MIRROR, default http://deb.debian.org/debian) imported as the first,
# plus this machine's Node 20 (`node` on PATH and its npm) as the second.
# With a registry, pass NODE_IMAGE=node:20-bookworm-slim
# RUNTIME_IMAGE=debian:bookworm-slim instead.
#
# Hosts like a CI runner in a container need:
#   - runc, not crun: crun refuses hosts with hybrid cgroups ("cgroups in
#     hybrid mode not supported"). Podman builds and runs get --runtime runc
#     when runc is installed (NETMATRIX_OCI_RUNTIME overrides).
#   - rlimits the host cannot raise: --ulimit nofile=20000:20000
#     --ulimit nproc=32768:32768 (NETMATRIX_ULIMITS overrides).
#   - a TLS-intercepting proxy in front of the npm registry: extra CA
#     certificates for `npm ci`. EXTRA_CA_CERTS=FILE (default: the file in
#     NODE_EXTRA_CA_CERTS, when set) is handed to the build as the secret
#     `extra_ca` and read only by the build stages' npm ci; it is never
#     written to a layer, so the image does not carry it.
# Build steps use the host's network (--network host).
#
# Prints the image's name, size and build time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="localhost/netmatrix/netmatrix:dev"
REBUILD_BASE=0
NO_CACHE=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --rebuild-base) REBUILD_BASE=1; shift ;;
    --no-cache) NO_CACHE=(--no-cache); shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if command -v podman >/dev/null 2>&1; then ENGINE=podman
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then ENGINE=docker
else
  echo "build-image: neither podman nor a running docker engine; install podman (apt-get install podman runc)" >&2
  exit 1
fi

ENGINE_ARGS=()
RUN_ARGS=()
if [ "$ENGINE" = podman ]; then
  RUNTIME="${NETMATRIX_OCI_RUNTIME:-$(command -v runc >/dev/null 2>&1 && echo runc || true)}"
  [ -n "$RUNTIME" ] && ENGINE_ARGS+=(--runtime "$RUNTIME")
fi
read -r -a ULIMITS <<<"${NETMATRIX_ULIMITS:---ulimit nofile=20000:20000 --ulimit nproc=32768:32768}"
RUN_ARGS+=("${ULIMITS[@]}")

DEBIAN_BASE=localhost/debian:bookworm-slim
NODE_BASE=localhost/node:20-bookworm-slim
have_image() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# Debian bookworm, minimal, from Debian's packages: the runtime base.
make_debian_base() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-image: $DEBIAN_BASE is missing and debootstrap is not installed (apt-get install debootstrap), or set RUNTIME_IMAGE and NODE_IMAGE" >&2
    exit 1
  fi
  local root
  root="$(mktemp -d /var/tmp/netmatrix-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' RETURN
  echo "build-image: debootstrap bookworm → $DEBIAN_BASE"
  debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$root.log" 2>&1 ||
    { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  # What the official slim image leaves out, now and for every later package:
  # documentation, manuals and translations; then package lists, caches, logs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  chroot "$root" apt-get clean
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/var/log/apt/*
  tar -C "$root" --numeric-owner -c . | "$ENGINE" import --change 'CMD ["bash"]' - "$DEBIAN_BASE" >/dev/null
}

# The Debian base plus this machine's Node 20 and npm, laid out as the official
# node image does (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
make_node_base() {
  local node npmdir ctx major
  node="$(command -v node || true)"
  [ -n "$node" ] || { echo "build-image: $NODE_BASE is missing and there is no node on PATH to make it from" >&2; exit 1; }
  major="$("$node" -p 'process.versions.node.split(".")[0]')"
  [ "$major" = 20 ] || { echo "build-image: $NODE_BASE needs Node 20; $node is $("$node" --version). Set NODE_IMAGE to a Node 20 image." >&2; exit 1; }
  npmdir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npmdir/package.json" ] || { echo "build-image: cannot find npm's directory next to $(command -v npm)" >&2; exit 1; }
  ctx="$(mktemp -d /var/tmp/netmatrix-node.XXXXXX)"
  trap 'rm -rf "$ctx"' RETURN
  mkdir -p "$ctx/bin" "$ctx/lib"
  cp "$(readlink -f "$node")" "$ctx/bin/node"
  cp -a "$npmdir" "$ctx/lib/npm"
  cat >"$ctx/Containerfile" <<EOF
FROM $DEBIAN_BASE
COPY bin/node /usr/local/bin/node
COPY lib/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
CMD ["node"]
EOF
  echo "build-image: $DEBIAN_BASE + $("$node" --version) → $NODE_BASE"
  "$ENGINE" build "${ENGINE_ARGS[@]}" "${RUN_ARGS[@]}" --network host -t "$NODE_BASE" -f "$ctx/Containerfile" "$ctx" >/dev/null
}

if [ -z "${NODE_IMAGE:-}" ] && [ -z "${RUNTIME_IMAGE:-}" ]; then
  if [ "$REBUILD_BASE" = 1 ] || ! have_image "$DEBIAN_BASE"; then make_debian_base; fi
  if [ "$REBUILD_BASE" = 1 ] || ! have_image "$NODE_BASE"; then make_node_base; fi
  NODE_IMAGE="$NODE_BASE"
  RUNTIME_IMAGE="$DEBIAN_BASE"
fi
: "${NODE_IMAGE:?set NODE_IMAGE too}" "${RUNTIME_IMAGE:?set RUNTIME_IMAGE too}"

SECRET_ARGS=()
CA="${EXTRA_CA_CERTS:-${NODE_EXTRA_CA_CERTS:-}}"
if [ -n "$CA" ]; then
  [ -r "$CA" ] || { echo "build-image: EXTRA_CA_CERTS=$CA is not a readable file" >&2; exit 1; }
  SECRET_ARGS+=(--secret "id=extra_ca,src=$CA")
fi

start=$(date +%s.%N)
"$ENGINE" build "${ENGINE_ARGS[@]}" "${RUN_ARGS[@]}" "${NO_CACHE[@]}" --network host \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
  "${SECRET_ARGS[@]}" -f Dockerfile.agent -t "$TAG" .
end=$(date +%s.%N)
size=$("$ENGINE" image inspect --format '{{.Size}}' "$TAG")
awk -v t="$TAG" -v s="$size" -v a="$start" -v b="$end" 'BEGIN { printf "build-image: %s  %.0f MB  built in %.0f s\n", t, s / 1e6, b - a }'
