//! Baseline (a0): librdkafka's own C consumer, `examples/rdkafka_performance.c`, built from
//! the librdkafka sources bundled in `rdkafka-sys` and linked against the very static
//! `librdkafka.a` the framework uses (same version, same build options).
//!
//! [`build`] finds the `rdkafka-sys` build of the harness's own profile (under
//! `target/<profile>/build/rdkafka-sys-*/out`), copies the headers the example includes (it
//! reaches into librdkafka's `src/` and the generated `config.h`, which the crate's source
//! tree does not carry) into `target/rdkafka-performance/`, and compiles the example there
//! with `cc -O2`, linking the `zstd-sys` and `curl-sys` static libraries of the same build
//! and the system's OpenSSL and zlib. Nothing is downloaded and nothing is committed. It is a
//! no-op when the binary is newer than `librdkafka.a`.
//!
//! [`run`] runs it in high-level consumer mode (`-G <group>`, `rd_kafka_consumer_poll` one
//! record at a time, auto-commit off, from the earliest offset, the same tuning as the
//! other librdkafka variants) for `-c <count>` records and reads its summary line; its clock
//! starts at the first record and stops when the count is reached.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::BoxError;
use crate::cpu;
use crate::measure::Measurement;

/// The directory the example is built in.
fn build_dir(profile_dir: &Path) -> PathBuf {
    profile_dir
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("rdkafka-performance")
        .join(profile_dir.file_name().unwrap_or_default())
}

/// `target/<profile>` of the running harness.
fn profile_dir() -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("the harness binary has no directory")?
        .to_path_buf();
    // `cargo test` runs a binary from target/<profile>/deps.
    Ok(if dir.ends_with("deps") {
        dir.parent().map_or(dir.clone(), Path::to_path_buf)
    } else {
        dir
    })
}

/// The newest `build/<crate>-*/out/<rel>` under `profile_dir` that exists.
fn newest(profile_dir: &Path, krate: &str, rel: &str) -> Option<PathBuf> {
    std::fs::read_dir(profile_dir.join("build"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&format!("{krate}-")))
        })
        .map(|e| e.path().join("out").join(rel))
        .filter(|p| p.is_file())
        .max_by_key(|p| {
            p.metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        })
}

/// librdkafka's source directory, from the CMake cache of the `rdkafka-sys` build.
fn source_dir(out: &Path) -> Result<PathBuf, BoxError> {
    let cache = std::fs::read_to_string(out.join("build/CMakeCache.txt"))?;
    cache
        .lines()
        .find_map(|l| l.strip_prefix("CMAKE_HOME_DIRECTORY:INTERNAL="))
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "no source directory in {}/build/CMakeCache.txt",
                out.display()
            )
            .into()
        })
}

/// Builds `rdkafka_performance` (see the module docs) and returns its path. Blocking.
pub(crate) fn build() -> Result<PathBuf, BoxError> {
    let profile = profile_dir()?;
    let lib = newest(&profile, "rdkafka-sys", "lib/librdkafka.a").ok_or_else(|| {
        format!(
            "no rdkafka-sys build under {} (build the harness with cargo first)",
            profile.display()
        )
    })?;
    let out = lib
        .parent()
        .and_then(Path::parent)
        .ok_or("librdkafka.a has no out directory")?
        .to_path_buf();
    let dir = build_dir(&profile);
    let binary = dir.join("rdkafka_performance");
    let mtime = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    if mtime(&binary).is_some_and(|b| mtime(&lib).is_some_and(|l| b > l)) {
        return Ok(binary);
    }
    let src = source_dir(&out)?;
    let zstd = newest(&profile, "zstd-sys", "libzstd.a")
        .ok_or("no zstd-sys build (libzstd.a) beside rdkafka-sys")?;
    let curl = newest(&profile, "curl-sys", "lib/libcurl.a")
        .ok_or("no curl-sys build (lib/libcurl.a) beside rdkafka-sys")?;
    // The example includes "../src/rd.h", and src/ includes "../config.h": lay the headers
    // out as in librdkafka's tree.
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("examples"))?;
    for e in std::fs::read_dir(src.join("src"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "h") {
            std::fs::copy(&p, dir.join("src").join(p.file_name().unwrap_or_default()))?;
        }
    }
    std::fs::copy(out.join("build/generated/config.h"), dir.join("config.h"))?;
    let example = dir.join("examples/rdkafka_performance.c");
    std::fs::copy(src.join("examples/rdkafka_performance.c"), &example)?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let result = Command::new(&cc)
        .args(["-O2", "-w", "-I"])
        .arg(dir.join("src"))
        .arg(&example)
        .arg("-o")
        .arg(&binary)
        .arg(&lib)
        .arg(&zstd)
        .arg(&curl)
        .args([
            "-lssl",
            "-lcrypto",
            "-lz",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lrt",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting `{cc}`: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "building rdkafka_performance with `{cc}` failed ({}):\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        )
        .into());
    }
    Ok(binary)
}

/// What one run of `rdkafka_performance` gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CReport {
    /// Records over its own clock.
    pub(crate) measurement: Measurement,
    /// The child's pid (for its CPU).
    pub(crate) pid: u32,
}

/// Runs the built `binary` on `topic` with `group` for `count` records. Blocking.
pub(crate) fn run(
    binary: &Path,
    bootstrap: &str,
    topic: &str,
    group: &str,
    count: u64,
    tuning: &[(&str, &str)],
) -> Result<CReport, BoxError> {
    let mut cmd = Command::new(binary);
    cmd.args(["-C", "-G", group, "-t", topic, "-b", bootstrap])
        .args(["-c", &count.to_string()])
        .args(["-X", "enable.auto.commit=false"])
        .args(["-X", "auto.offset.reset=earliest"])
        .arg("-q");
    for (k, v) in tuning {
        cmd.arg("-X").arg(format!("{k}={v}"));
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    let pid = child.id();
    cpu::watch_child(pid);
    let out = child.wait_with_output();
    cpu::child_ended();
    let out = out?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "rdkafka_performance exited with {}:\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let (read, elapsed) = parse_summary(&stdout)?;
    Ok(CReport {
        measurement: Measurement {
            read,
            timed: read.saturating_sub(1),
            elapsed,
            ..Measurement::ZERO
        },
        pid,
    })
}

/// The last `% N messages (B bytes) consumed in T ms: R msgs/s …` line: (N, T).
fn parse_summary(stdout: &str) -> Result<(u64, Duration), BoxError> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" consumed in ") && !l.contains("INTERVAL"))
        .ok_or_else(|| format!("no summary line in rdkafka_performance's output:\n{stdout}"))?;
    let number_after = |marker: &str| -> Option<u64> {
        let at = line.find(marker)? + marker.len();
        line[at..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let read = number_after("% ").ok_or_else(|| format!("no count in `{line}`"))?;
    let ms = number_after("consumed in").ok_or_else(|| format!("no time in `{line}`"))?;
    Ok((read, Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_parse() {
        let out = "% 2000000 messages (200000000 bytes) consumed in 1010ms: 1980198 msgs/s (198.02 MB/s)\n\
                   % Average application fetch latency: 1us\n";
        assert_eq!(
            parse_summary(out).unwrap(),
            (2_000_000, Duration::from_millis(1010))
        );
        assert!(parse_summary("nothing\n").is_err());
    }
}
