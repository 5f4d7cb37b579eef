#!/usr/bin/env bash
# Installs the interop peers' dependencies; idempotent and non-interactive.
#   node/:   npm ci            when node_modules is missing or older than package.json / package-lock.json,
#            then builds @confluentinc/kafka-javascript's native addon and its bundled librdkafka from source
#            (the benchmark's j1/j2 peer; about 5 minutes on 2 cores, only when node_modules was reinstalled)
#   python/: venv + pip -r     when .venv is missing or older than requirements.txt
# A stamp file inside node_modules/ and .venv/ is written only after a successful install, so an
# interrupted run is redone next time. Concurrent runs are serialized (flock on this script).
# Success: one summary line on stderr. Failure: the tool's output tail, then one `setup.sh: error:` line.
# PYTHON overrides the interpreter used to create the venv (default: python3.11, else python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
start=$(date +%s%N)

die() { echo "setup.sh: error: $*" >&2; exit 1; }

exec 9<"$here/setup.sh"
command -v flock >/dev/null && flock 9

log=$(mktemp "${TMPDIR:-/tmp}/interop-setup.XXXXXX")
trap 'rm -f "$log"' EXIT

run() { # run <what> <command...>: quiet unless it fails
  local what=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "$what failed (its output is above; command: $*)"
  fi
}

stale() { # stale <stamp> <inputs...>: true if the stamp is missing or older than any input
  local stamp=$1; shift
  [[ -f $stamp ]] || return 0
  local f
  for f in "$@"; do [[ $f -nt $stamp ]] && return 0; done
  return 1
}

# --- node ---------------------------------------------------------------------------------------
node_dir=$here/node
node_stamp=$node_dir/node_modules/.interop-setup-stamp
node_state="node deps up to date"
if stale "$node_stamp" "$node_dir/package.json" "$node_dir/package-lock.json"; then
  command -v node >/dev/null || die "node not found on PATH (needed for tests/interop/node)"
  command -v npm >/dev/null || die "npm not found on PATH (needed for tests/interop/node)"
  [[ -f $node_dir/package-lock.json ]] || die "tests/interop/node/package-lock.json is missing"
  # --ignore-scripts: the only dependency with an install script is @confluentinc/kafka-javascript (below).
  run "npm ci in tests/interop/node" \
    npm ci --prefix "$node_dir" --ignore-scripts --no-audit --no-fund --loglevel=error
  # @confluentinc/kafka-javascript (the benchmark's j1/j2 peer) is a native addon over librdkafka. Its install
  # script fetches a prebuilt binary from GitHub's release downloads, else builds from the librdkafka sources in its
  # npm tarball with options that make librdkafka's configure download OpenSSL, zstd, curl, … as well. Build it
  # from source here, every time (the same build everywhere, no download besides npm's): librdkafka linked
  # dynamically (CKJS_LINKING=dynamic; build/deps/librdkafka.so, found through the addon's rpath) against the
  # system's OpenSSL and zlib. Needs make, a C/C++ compiler and python3 (node-gyp); Node's headers from the Node
  # installation when it has them (else node-gyp downloads them).
  node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
  nodedir=()
  [[ -f $node_prefix/include/node/node_version.h ]] && nodedir=("npm_config_nodedir=$node_prefix")
  run "building @confluentinc/kafka-javascript from source in tests/interop/node" \
    env CKJS_LINKING=dynamic npm_config_build_from_source=true "${nodedir[@]}" \
    npm rebuild @confluentinc/kafka-javascript --prefix "$node_dir" --foreground-scripts --no-audit --no-fund
  run "loading @confluentinc/kafka-javascript" \
    node -e 'require(process.argv[1])' "$node_dir/node_modules/@confluentinc/kafka-javascript"
  touch "$node_stamp"
  node_state="node deps installed ($(node --version))"
fi

# --- python -------------------------------------------------------------------------------------
py_dir=$here/python
venv=$py_dir/.venv
py_stamp=$venv/.interop-setup-stamp
py_state="python venv up to date"
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv" # missing or broken (e.g. its interpreter went away): start over
fi
if stale "$py_stamp" "$py_dir/requirements.txt"; then
  if [[ ! -x $venv/bin/python ]]; then
    py=${PYTHON:-}
    if [[ -z $py ]]; then
      if command -v python3.11 >/dev/null; then py=python3.11; else py=python3; fi
    fi
    command -v "$py" >/dev/null || die "$py not found on PATH (needed for tests/interop/python; set PYTHON)"
    run "creating the venv tests/interop/python/.venv with $py" "$py" -m venv "$venv"
  fi
  run "pip install -r tests/interop/python/requirements.txt" \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$py_dir/requirements.txt"
  touch "$py_stamp"
  py_state="python venv installed ($("$venv/bin/python" --version 2>&1))"
fi

ms=$((($(date +%s%N) - start) / 1000000))
echo "interop setup: $node_state; $py_state (${ms} ms)" >&2
