#!/usr/bin/env bash
# Install the measurement tools netmatrix wraps (and what its tests use) when
# missing: the tools, the lab's iproute2/iptables, ethtool and nft for the
# agent's environment fingerprint, chromium for the live page,
# and for the image (scripts/build-image.sh, `lab --image`) podman with runc,
# debootstrap for base images made offline, setcap for the exec tests.
# Debian/Ubuntu; needs root. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
declare -A pkg=(
  [iperf3]=iperf3 [iperf]=iperf [qperf]=qperf [ping]=iputils-ping [wrk]=wrk [nginx]=nginx-light [sockperf]=sockperf
  [iptables]=iptables [ip]=iproute2 [tc]=iproute2 [timeout]=coreutils [iftop]=iftop [chromium]=chromium [ethtool]=ethtool [nft]=nftables
  [podman]=podman [runc]=runc [debootstrap]=debootstrap [setcap]=libcap2-bin [setpriv]=util-linux
)
missing=()
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg[$cmd]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "tools present: ${!pkg[*]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
