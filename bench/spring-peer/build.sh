#!/usr/bin/env bash
# Builds the Spring for Apache Kafka peer of consume-bench into <repo>/target/spring-peer/:
# spring-peer.jar (its manifest names the dependencies copied into lib/), run without network
#   java -Xmx512M -XX:+UseG1GC -jar target/spring-peer/spring-peer.jar --brokers .. --topic ..
# Idempotent: does nothing (no Maven run) when the jar is newer than every file of
# bench/spring-peer/ and the reader schema tests/interop/lecture_progress.avsc. The first build
# resolves spring-kafka, Apache Avro and their dependencies from Maven Central (~/.m2 keeps
# them). Silent on success; on failure, Maven's errors and one line saying what failed, on
# stderr, exit non-zero. Needs no stdin (mvn -B).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/spring-peer"   # also the pom's <build><directory>
jar="$out/spring-peer.jar"
schema="$repo/tests/interop/lecture_progress.avsc"

die() { printf 'spring-peer/build.sh: %s\n' "$*" >&2; exit 1; }

up_to_date() {
  [[ -f $jar && -d $out/lib && $jar -nt $schema ]] || return 1
  [[ -z $(find "$here" -type f -newer "$jar" -print -quit) ]]
}

up_to_date && exit 0

command -v java >/dev/null 2>&1 || die "java is not installed (a JDK 17+ is needed; Debian: openjdk-17-jdk-headless)"
mvn="${MVN:-mvn}"
command -v "$mvn" >/dev/null 2>&1 || die "Maven is not installed (no '$mvn' on PATH; Debian: maven; or set MVN=/path/to/mvn)"

# The jar and lib/ go first: a failed build leaves no runnable peer behind (and the next run
# builds again), and a dependency dropped from the pom does not linger on the classpath.
# Maven's output goes to a log, shown on stderr only on failure (Maven 3.8 prints stray colour
# codes even with -B -q).
rm -rf "$jar" "$out/lib"
mkdir -p "$out" || die "cannot create $out"
log="$out/maven.log"
if ! "$mvn" -B -q -f "$here/pom.xml" package </dev/null >"$log" 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' "$log" >&2
  die "building the Spring Kafka peer ($here) with Maven failed (its output is above; also in $log)"
fi
[[ -f $jar ]] || die "Maven succeeded but $jar is missing"
# The jar plugin leaves an unchanged jar alone: mark it as built now, for up_to_date.
touch "$jar"
