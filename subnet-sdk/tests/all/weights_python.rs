//! `subforge_core::weights` against the Python SDK (bittensor 10 from PyPI): the commit-reveal
//! hash (`generate_weight_hash`), max-weight normalisation (`normalize_max_weight`) and the
//! quantisation validators submit (`convert_weights_and_uids_for_emit`).

use serde_json::Value;
use subforge_core::identity::Keypair;
use subforge_core::weights::{commit_hash, normalize_max_weight, quantize};
use subforge_core::{NetUid, Uid};

use crate::python;

const PACKAGE: &str = "bittensor==10.5.0";

const SCRIPT: &str = r#"
import json, os
import numpy as np
from bittensor.utils.weight_utils import (
    generate_weight_hash, normalize_max_weight, convert_weights_and_uids_for_emit)
cases = json.loads(os.environ["SUBFORGE_CASES"])
out = {"hashes": [], "normalized": [], "emitted": []}
for c in cases["hashes"]:
    out["hashes"].append(generate_weight_hash(
        c["address"], c["netuid"], c["uids"], c["values"], c["version_key"], c["salt"]))
for c in cases["normalize"]:
    y = normalize_max_weight(np.array(c["x"], dtype=np.float32), c["limit"])
    out["normalized"].append([float(v) for v in y])
for c in cases["emit"]:
    uids, vals = convert_weights_and_uids_for_emit(
        np.array(c["uids"], dtype=np.int64), np.array(c["weights"], dtype=np.float32))
    out["emitted"].append([list(map(int, uids)), list(map(int, vals))])
print(json.dumps(out))
"#;

#[test]
fn weights_match_the_python_sdk() {
    let alice = Keypair::from_uri("//Alice").unwrap().public();
    let hashes = [
        (
            42u16,
            vec![0u16, 3, 9],
            vec![65535u16, 1200, 7],
            vec![1u16, 2, 3, 4, 5, 6, 7, 8],
            4u64,
        ),
        (1, vec![], vec![], vec![], 0),
        (
            65535,
            (0..70).collect(),
            (0..70).map(|i| i * 900).collect(),
            vec![9; 32],
            u64::MAX,
        ),
    ];
    let normalize = [
        (vec![1.0f32, 1.0, 1.0, 10.0], 0.5f64),
        (vec![0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625], 0.3),
        (vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0], 0.2),
        (vec![1.0, 3.0], 0.9),
    ];
    let emit = [
        (vec![3i64, 5, 7], vec![0.2f32, 0.4, 0.0000001]),
        (vec![0, 1, 2, 3], vec![0.1, 0.7, 0.15, 0.05]),
        (vec![10, 11], vec![1.0, 0.5]),
    ];
    let cases = serde_json::json!({
        "hashes": hashes.iter().map(|(netuid, uids, values, salt, version_key)| serde_json::json!({
            "address": alice.to_ss58(), "netuid": netuid, "uids": uids, "values": values,
            "salt": salt, "version_key": version_key,
        })).collect::<Vec<_>>(),
        "normalize": normalize.iter().map(|(x, limit)| serde_json::json!({"x": x, "limit": limit})).collect::<Vec<_>>(),
        "emit": emit.iter().map(|(uids, weights)| serde_json::json!({"uids": uids, "weights": weights})).collect::<Vec<_>>(),
    });
    let py = python::venv("bt10", &[PACKAGE]);
    let home = tempfile::tempdir().unwrap();
    let cases = cases.to_string();
    let out = python::run(&py, SCRIPT, home.path(), &[("SUBFORGE_CASES", &cases)]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let answer: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    for (i, (netuid, uids, values, salt, version_key)) in hashes.iter().enumerate() {
        let ours = commit_hash(&alice, NetUid(*netuid), uids, values, salt, *version_key);
        assert_eq!(
            answer["hashes"][i].as_str().unwrap(),
            format!("0x{}", hex::encode(ours)),
            "commit hash case {i}"
        );
    }
    for (i, (x, limit)) in normalize.iter().enumerate() {
        let xs: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let ours = normalize_max_weight(&xs, *limit);
        let theirs: Vec<f64> = answer["normalized"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        // The SDK computes in float32.
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(
                (a - b).abs() < 1e-6,
                "normalize case {i}: {ours:?} vs {theirs:?}"
            );
        }
    }
    for (i, (uids, weights)) in emit.iter().enumerate() {
        let pairs: Vec<(Uid, f64)> = uids
            .iter()
            .zip(weights)
            .map(|(&u, &w)| (Uid(u as u16), f64::from(w)))
            .collect();
        let (u, v) = quantize(&pairs);
        let theirs = &answer["emitted"][i];
        let tu: Vec<u16> = serde_json::from_value(theirs[0].clone()).unwrap();
        let tv: Vec<u16> = serde_json::from_value(theirs[1].clone()).unwrap();
        assert_eq!((u, v), (tu, tv), "emit case {i}");
    }
}
