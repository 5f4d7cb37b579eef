//! Compile-time behaviour of `#[consume]`: one failure mode per file in `tests/ui/fail/` with
//! its expected diagnostics in the `.stderr` beside it, and programs that must build and run
//! in `tests/ui/pass/`. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! consume-macros --test ui` (the toolchain is pinned, so they are stable).
//!
//! trybuild builds the cases in a Cargo project of its own (under `target/tests/trybuild`),
//! so every dependency of the expansions, librdkafka's C sources included, is built there
//! once more: hence this test lives in the macro crate, whose dev-dependencies are only
//! what the expansions need. And built once, not twice: trybuild builds the dependencies
//! with the rustflags `--cfg trybuild --verbose -A dead_code`, then each case with
//! `--diagnostic-width=140` added, and cargo rebuilds every dependency when the rustflags
//! change (190 of the 450 s this test took in CI). So [`ui`] runs the cases in a child
//! process with `CARGO_ENCODED_RUSTFLAGS` set to the case flags: cargo prefers that
//! variable to the `--config` rustflags trybuild passes, and one set of flags serves every
//! build. The diagnostics are those of trybuild's own case builds.

use std::process::Command;

/// trybuild's rustflags for the case builds, `\x1f`-separated as `CARGO_ENCODED_RUSTFLAGS`
/// wants them: the `src/rustflags.rs` list plus the `--diagnostic-width=140` of
/// `src/cargo.rs` in trybuild [`TRYBUILD_VERSION`].
const CASE_RUSTFLAGS: &str =
    "--cfg\x1ftrybuild\x1f--verbose\x1f-A\x1fdead_code\x1f--diagnostic-width=140";

/// The trybuild whose flags [`CASE_RUSTFLAGS`] copies (checked against `Cargo.lock`).
const TRYBUILD_VERSION: &str = "1.0.122";

/// Set in the child process that runs the cases.
const IN_CHILD: &str = "CONSUME_UI_CASES";

#[test]
fn ui() {
    // Under RUSTFLAGS (coverage, say) trybuild makes its own choice of flags: leave it be.
    let own_flags = ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if std::env::var_os(IN_CHILD).is_some() || own_flags {
        let t = trybuild::TestCases::new();
        t.compile_fail("tests/ui/fail/*.rs");
        t.pass("tests/ui/pass/*.rs");
        return;
    }
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("reading the workspace's Cargo.lock");
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"trybuild\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"'));
    assert_eq!(
        locked,
        Some(TRYBUILD_VERSION),
        "trybuild changed: compare CASE_RUSTFLAGS with its src/rustflags.rs and src/cargo.rs, \
         then update TRYBUILD_VERSION"
    );
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = Command::new(exe)
        .args(["ui", "--exact", "--nocapture", "--test-threads=1"])
        .env(IN_CHILD, "1")
        .env("CARGO_ENCODED_RUSTFLAGS", CASE_RUSTFLAGS)
        .status()
        .expect("running the ui cases in a child process");
    assert!(
        status.success(),
        "the ui cases failed (trybuild's report is above)"
    );
}
