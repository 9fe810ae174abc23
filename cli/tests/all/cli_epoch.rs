//! `subforge epoch simulate` as a person runs it: JSON lines out, one-line errors, exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::run;
use serde_json::Value;

fn docs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/consensus")
        .join(name)
}

fn simulate(scenario: &Path) -> Output {
    run::subforge()
        .args(["epoch", "simulate", "--scenario"])
        .arg(scenario)
        .output()
        .unwrap()
}

/// A failure prints nothing on standard output, only its one error line.
fn fails_with(out: &Output, needle: &str) {
    assert!(out.stdout.is_empty());
    run::fails_with(out, needle);
}

#[test]
fn prints_one_json_object_per_epoch() {
    let out = run::ok(&simulate(&docs("v2-bonds-classic.json")));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9);
    let b = &lines[1];
    assert_eq!(b["block"], 2);
    for field in [
        "incentive",
        "dividends",
        "consensus",
        "validator_trust",
        "stake_weight",
        "active",
        "validator_permit",
        "emission",
        "server_emission",
        "validator_emission",
        "bonds",
    ] {
        assert_eq!(b[field].as_array().unwrap().len(), 8, "{field}");
    }
    assert_eq!(b["emission"][3], 200_000_001);
    assert_eq!(b["bonds"][0][0], serde_json::json!([4, 16383]));
    assert_eq!(lines[8]["validator_emission"][0], 26_565_175);
}

#[test]
fn bad_scenarios_name_the_event_or_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0], "events": []}"#,
            "`registered_at` has 1 entries but `n` is 2",
        ),
        (
            r#"{"n": 2, "stake": [1, 1.5], "registered_at": [0, 0], "events": []}"#,
            "stake[1]",
        ),
        (
            r#"{"n": 2, "stake": [1, -3], "registered_at": [0, 0], "events": []}"#,
            "stake[1]",
        ),
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "speed": 1, "events": []}"#,
            "speed",
        ),
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "events": [
                {"block": 1, "epoch": 10},
                {"block": 1, "set_weights": {"uid": 0, "uids": [1, 5], "weights": [1, 1]}}]}"#,
            "event 1 field `set_weights.uids[1]` names uid 5",
        ),
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "events": [
                {"block": 1, "set_weights": {"uid": 0, "uids": [1], "weights": [1, 1]}}]}"#,
            "event 0 `set_weights` has 1 uids but 2 weights",
        ),
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "events": [
                {"block": 1, "register": {"uid": 2}}]}"#,
            "event 0 field `register.uid` names uid 2",
        ),
        (
            r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "events": [
                {"block": 1, "set_stake": {"uid": 0, "stake": -1}}]}"#,
            "events[0].set_stake.stake",
        ),
        ("not json", "scenario"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&path, text).unwrap();
        fails_with(&simulate(&path), needle);
    }
    fails_with(
        &simulate(&dir.path().join("missing.json")),
        "cannot read scenario",
    );
}
