//! Compile-time behaviour of `#[consume]`: one failure mode per file in `ui/fail/` with its
//! expected diagnostics in the `.stderr` beside it, and programs that must build and run in
//! `ui/pass/`. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! consume-tests --test ui` (the toolchain is pinned, so they are stable).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
