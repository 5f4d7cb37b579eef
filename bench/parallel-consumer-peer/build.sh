#!/usr/bin/env bash
# Builds the key-ordered benchmark's Parallel Consumer peer (pom.xml, src/) into
# <repo>/target/parallel-consumer-peer/: parallel-consumer-peer.jar and libs/ (its
# dependencies from Maven Central). Idempotent: when the jar is there and pom.xml and the
# sources are unchanged since the last successful build (a hash kept in .built), it returns
# at once without starting Maven. Reads no stdin. consume-bench runs it before the
# key-ordered rounds; run it by hand to see Maven's output on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/parallel-consumer-peer"
stamp="$out/.built"

for cmd in mvn java sha256sum; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "parallel-consumer-peer: \`$cmd\` is not installed (Debian: maven, openjdk-17-jdk-headless, coreutils)" >&2
    exit 1
  fi
done

# What the build depends on: the POM and every source file (names and contents).
hash="$(cd "$here" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" && -f "$out/parallel-consumer-peer.jar" && -d "$out/libs" ]]; then
  exit 0
fi

mkdir -p "$out"
log="$out/maven.log"
rm -f "$stamp"
# A clean package: libs/ must not keep jars of an older dependency set.
if ! mvn -B -q -f "$here/pom.xml" -Dpeer.out="$out" clean package </dev/null >"$log" 2>&1; then
  echo "parallel-consumer-peer: the Maven build failed; the end of its log ($log):" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
if [[ ! -f "$out/parallel-consumer-peer.jar" ]]; then
  echo "parallel-consumer-peer: Maven succeeded but $out/parallel-consumer-peer.jar is missing (log: $log)" >&2
  exit 1
fi
echo "$hash" >"$stamp"
