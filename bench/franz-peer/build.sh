#!/usr/bin/env bash
# Builds the franz-go peer of consume-bench into <repo>/target/franz-peer/franz-peer.
# Idempotent: Go's build cache makes a rebuild of an up-to-date tree take well under a second.
# Silent on success; on failure, Go's errors and one line saying what failed, exit non-zero.
# The first build downloads franz-go and hamba/avro through the Go module proxy (go.sum pins
# them; -mod=readonly never edits go.mod).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/franz-peer"

die() { printf 'franz-peer/build.sh: %s\n' "$*" >&2; exit 1; }

go="${GO:-}"
if [[ -z $go ]]; then
  if command -v go >/dev/null 2>&1; then
    go=go
  elif [[ -x /usr/local/go/bin/go ]]; then
    go=/usr/local/go/bin/go
  else
    die "Go is not installed (no 'go' on PATH nor /usr/local/go/bin/go; set GO=/path/to/go)"
  fi
fi

command -v "$go" >/dev/null 2>&1 || die "Go ($go, from \$GO) is not an executable"

mkdir -p "$out" || die "cannot create $out"
cd "$here"
# GOTOOLCHAIN=local: build with the installed Go, never download another toolchain. go build
# leaves an up-to-date binary alone (it compares the build ID stored in it).
GOTOOLCHAIN=local GOFLAGS=-mod=readonly "$go" build -trimpath -o "$out/franz-peer" . </dev/null ||
  die "building the franz-go peer ($here) with $("$go" version 2>/dev/null || echo "$go") failed (Go's output is above)"
