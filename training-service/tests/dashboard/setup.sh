#!/usr/bin/env bash
# Installs what the dashboard test needs; idempotent and non-interactive:
#   - Chromium from Debian's packages (`apt-get install chromium`) when /usr/bin/chromium (or
#     $CHROMIUM) is missing (as root, or through sudo -n);
#   - a Korean font (`apt-get install fonts-nanum`) when fontconfig knows none, so that the
#     Korean screenshot shows letters rather than boxes (the test reads text, not pixels);
#   - playwright-core and axe-core (pinned in package-lock.json) from npm (`npm ci`) when
#     node_modules is missing or older than the lock.
# Success: one summary line on stderr. Failure: the tool's output tail and one error line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "dashboard/setup.sh: error: $*" >&2; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/dashboard-setup.XXXXXX")
trap 'rm -f "$log"' EXIT
run() {
  local what=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "$what failed (command: $*)"
  fi
}

chromium=${CHROMIUM:-/usr/bin/chromium}
packages=()
[[ -x $chromium ]] || packages+=(chromium)
if ! command -v fc-list >/dev/null || [[ -z $(fc-list :lang=ko 2>/dev/null) ]]; then
  packages+=(fonts-nanum)
fi
if (( ${#packages[@]} )); then
  sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "${packages[*]} missing and this user cannot install them: run \`apt-get install ${packages[*]}\` as root"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  run "apt-get update" "${sudo[@]}" apt-get update
  run "apt-get install ${packages[*]}" "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
fi

stamp=$here/node_modules/.setup-stamp
if [[ ! -f $stamp || $here/package-lock.json -nt $stamp || $here/package.json -nt $stamp ]]; then
  run "npm ci (playwright-core)" npm ci --prefix "$here" --no-audit --no-fund
  touch "$stamp"
fi
echo "dashboard/setup.sh: chromium $("$chromium" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1), playwright-core $(node -p "require('$here/node_modules/playwright-core/package.json').version"), axe-core $(node -p "require('$here/node_modules/axe-core/package.json').version")" >&2
