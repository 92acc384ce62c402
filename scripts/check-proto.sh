#!/usr/bin/env bash
# Fails when proto/ breaks wire compatibility with the previous commit:
# `buf breaking` with buf.yaml's rules (FILE: no field, message, enum value or
# RPC removed or renamed, no type or number changed). Uncommitted changes to
# proto/ are checked against HEAD, the commit they will follow; a clean
# checkout (CI's fresh clone) against HEAD~1. Skips, saying why, when there is
# no previous commit to compare with.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "buf breaking: skipped: $1." >&2
  exit 0
}

git rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "not a git checkout, so no previous commit to compare with"
git rev-parse --verify --quiet HEAD >/dev/null || skip "no commit yet"
if [ -n "$(git status --porcelain -- proto buf.yaml)" ]; then
  against=HEAD
else
  against=HEAD~1
fi
commit=$(git rev-parse --verify --quiet "$against^{commit}") ||
  skip "$against does not exist (the first commit, or a shallow clone: 'git fetch --deepen 1' brings the previous one)"
git cat-file -e "$commit:proto" 2>/dev/null || skip "$against ($commit) has no proto/"

echo "buf breaking: proto/ against $against ($commit)"
npx buf breaking proto --against ".git#ref=$commit,subdir=proto"
echo "proto/ is wire-compatible with $against."
