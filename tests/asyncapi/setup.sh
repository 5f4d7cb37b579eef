#!/usr/bin/env bash
# Installs the AsyncAPI validator's dependencies (@asyncapi/parser, @asyncapi/avro-schema-parser,
# js-yaml, pinned in package.json and package-lock.json) with `npm ci`, when node_modules is
# missing or older than package.json / package-lock.json; idempotent and non-interactive.
# A stamp file inside node_modules/ is written only after a successful install, so an
# interrupted run is redone next time. Concurrent runs are serialized (flock on this script).
# Success: one summary line on stderr. Failure: npm's output tail, then one error line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "asyncapi/setup.sh: error: $*" >&2; exit 1; }

exec 9<"$here/setup.sh"
command -v flock >/dev/null && flock 9

stamp=$here/node_modules/.asyncapi-setup-stamp
state="up to date"
if [[ ! -f $stamp || $here/package.json -nt $stamp || $here/package-lock.json -nt $stamp ]]; then
  command -v node >/dev/null || die "node not found on PATH (Node.js 20+ is needed to validate AsyncAPI documents)"
  command -v npm >/dev/null || die "npm not found on PATH"
  log=$(mktemp "${TMPDIR:-/tmp}/asyncapi-setup.XXXXXX")
  trap 'rm -f "$log"' EXIT
  # --ignore-scripts: no dependency needs an install script (all pure JS).
  if ! npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "npm ci in tests/asyncapi failed (its output is above)"
  fi
  touch "$stamp"
  state="installed"
fi
echo "asyncapi/setup.sh: @asyncapi/parser $(node -p "require('$here/node_modules/@asyncapi/parser/package.json').version") $state" >&2
