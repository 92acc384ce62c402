#!/usr/bin/env bash
# Record the real lab runs the report and compare tests read
# (report/fixtures/runs/<cni>/): a 3-node lab per CNI mode, the matrix in
# report/fixtures/spec.yaml, sampled every 250 ms. Root; takes ~10 minutes.
# The lab is always taken down, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
out=report/fixtures/runs
data=$(mktemp -d /tmp/nm-fixtures.XXXXXX)
export NETMATRIX_DATA_DIR=$data
trap 'node bin/netmatrix.js lab down >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
for cni in ${CNIS:-host-gw vxlan}; do
  node bin/netmatrix.js lab up --nodes 3 --cni "$cni" --nic-rate 1gbit
  node bin/netmatrix.js run --spec report/fixtures/spec.yaml --sample-interval 250 --output table
  run=$(ls -t "$data/runs" | head -1)
  rm -rf "${out:?}/$cni" && mkdir -p "$out/$cni"
  cp "$data/runs/$run/"{meta.json,spec.yaml,spec.json,inventory.json,cases.jsonl} "$out/$cni/"
  node bin/netmatrix.js lab down
done
ls -la "$out"/*
