//! The AsyncAPI validator in `tests/asyncapi/` (`validate.mjs`: the AsyncAPI parser and its
//! Avro schema parser, from npm): run it on an exported document.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::endpoints;

/// What the validator said.
#[derive(Debug)]
pub struct Report {
    /// No errors, and every expected handler has a `receive` operation.
    pub valid: bool,
    /// Its diagnostics and summary line.
    pub output: String,
}

/// Validates `document` (JSON or YAML); `handlers` must each have a `receive` operation;
/// with `same_as`, the document must say exactly what that JSON file says.
///
/// # Panics
/// When the validator is not installed (naming the command that installs it) or cannot run.
pub fn validate(document: &str, handlers: &[&str], same_as: Option<&Path>) -> Report {
    let dir = endpoints::repo_dir().join("tests/asyncapi");
    assert!(
        dir.join("node_modules/@asyncapi/parser").exists(),
        "the AsyncAPI validator is not installed: run `tests/asyncapi/setup.sh` (`./dev test` does)"
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("validate.mjs"))
        .args(["--handlers", &handlers.join(",")]);
    if let Some(path) = same_as {
        cmd.arg("--compare").arg(path);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20+ is needed): {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(document.as_bytes())
        .expect("write the document to the validator");
    let out = child.wait_with_output().expect("wait for the validator");
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Report {
            valid: true,
            output,
        },
        Some(1) => Report {
            valid: false,
            output,
        },
        _ => panic!("the validator failed to run ({}): {output}", out.status),
    }
}

/// [`validate`], failing the test with the validator's output unless the document is valid.
pub fn assert_valid(what: &str, document: &str, handlers: &[&str], same_as: Option<&Path>) {
    let report = validate(document, handlers, same_as);
    assert!(
        report.valid,
        "{what}: the AsyncAPI document is not valid:\n{}\n--- document ---\n{document}",
        report.output
    );
}

/// `document` (JSON) broken in ways the validator must catch, with what the validator says
/// about each: an operation pointing at a channel that does not exist, and (when the document
/// has an Avro payload) an Avro record field of a type Avro does not have. For the negative
/// checks that show the validation can fail.
pub fn broken(document: &str) -> Vec<(String, &'static str)> {
    let doc: serde_json::Value = serde_json::from_str(document).expect("a JSON document");
    let mut broken = Vec::new();

    let mut bad_ref = doc.clone();
    if let Some(op) = bad_ref["operations"]
        .as_object_mut()
        .and_then(|ops| ops.values_mut().next())
    {
        op["channel"]["$ref"] = "#/channels/no-such-channel".into();
        broken.push((bad_ref.to_string(), "does not exist"));
    }

    let mut bad_avro = doc;
    let avro = bad_avro["channels"]
        .as_object_mut()
        .into_iter()
        .flat_map(|channels| channels.values_mut())
        .filter_map(|c| c["messages"].as_object_mut())
        .flat_map(|messages| messages.values_mut())
        .map(|m| &mut m["payload"])
        .find(|p| {
            p["schemaFormat"]
                .as_str()
                .is_some_and(|f| f.starts_with("application/vnd.apache.avro"))
        });
    if let Some(field) = avro.and_then(|p| p["schema"]["fields"].get_mut(0)) {
        field["type"] = "integer".into();
        broken.push((bad_avro.to_string(), "invalid Avro schema"));
    }
    broken
}
