//! Our drand timelock commits against `bittensor-drand` (PyPI, the Rust core the Python SDK
//! commits weights with): each opens the other's commits with a real quicknet round signature,
//! and both aim the same weights at the same round.
//!
//! `bittensor-drand`'s general `encrypt_at_round` / `decrypt_with_signature` carry the chain's
//! ciphertext inside a SCALE `(Vec<u8> ciphertext, u64 round)` envelope; the commit the chain
//! stores is the ciphertext itself.

use std::time::{SystemTime, UNIX_EPOCH};

use parity_scale_codec::{Decode, Encode};
use serde_json::Value as Json;
use subforge_sdk::chain::subtensor::timelock::{
    self, DrandNetwork, EpochSchedule, EpochState, WeightsPayload,
};

use crate::python;

/// Quicknet round 30668812 and its BLS signature, as the chain's drand pallet stored it.
const ROUND: u64 = 30_668_812;
const SIGNATURE: &str = "b7e15d214002905b548474719ec134e1de7935c35b8b12028ced184c233a01555c1b163f8d2cab92cd69b205cd9c1e07";

const PY: &str = r#"
import json, os, time
import bittensor_drand as d
ours = bytes.fromhex(os.environ["OUR_COMMIT"])
opened = d.decrypt_with_signature(ours, os.environ["SIGNATURE"])
theirs, round_ = d.encrypt_at_round(bytes.fromhex(os.environ["PAYLOAD"]), int(os.environ["ROUND"]))
before = time.time()
commit, reveal_round = d.get_encrypted_commit_v2(
    uids=[1, 2], weights=[65535, 100], version_key=7,
    last_epoch_block=1000, pending_epoch_at=0, subnet_epoch_index=42, tempo=360,
    blocks_since_last_step=100, current_block=1100, subnet_reveal_period_epochs=1,
    block_time=12.0, hotkey=bytes(32))
after = time.time()
print(json.dumps({
    "opened": opened.hex(), "theirs": theirs.hex(), "round": round_,
    "reveal_round": reveal_round, "before": before, "after": after,
}))
"#;

#[test]
fn commits_open_both_ways_with_bittensor_drand_and_rounds_agree() {
    let payload = WeightsPayload {
        hotkey: [0xd4; 32],
        uids: vec![0, 3, 7, 255],
        values: vec![65535, 1, 0, 40_000],
        version_key: 2_010_004,
    };
    let network = DrandNetwork::QUICKNET;
    let ours = timelock::encrypt_weights(&payload, ROUND, &network, &mut rand_core::OsRng).unwrap();

    let py = python::venv("bt10", &["bittensor==10.5.0"]);
    let home = tempfile::tempdir().unwrap();
    let out = python::run(
        &py,
        PY,
        home.path(),
        &[
            ("OUR_COMMIT", &hex::encode((ours, ROUND).encode())),
            ("SIGNATURE", SIGNATURE),
            ("PAYLOAD", &hex::encode(payload.encode())),
            ("ROUND", &ROUND.to_string()),
        ],
    );
    let seen: Json = serde_json::from_slice(&out.stdout).unwrap();

    // Ours, opened by bittensor-drand: exactly our payload.
    assert_eq!(seen["opened"], hex::encode(payload.encode()));
    // Theirs, opened by us.
    let envelope = hex::decode(seen["theirs"].as_str().unwrap()).unwrap();
    let (theirs, round) = <(Vec<u8>, u64)>::decode(&mut &envelope[..]).unwrap();
    assert_eq!((round, seen["round"].as_u64()), (ROUND, Some(ROUND)));
    let signature = hex::decode(SIGNATURE).unwrap();
    assert_eq!(
        timelock::decrypt_weights(&theirs, &signature).unwrap(),
        payload
    );

    // The same schedule gives the same reveal round (the wall clock moved during the call, so
    // ours is computed at both ends of it).
    let schedule = EpochSchedule {
        current_block: 1100,
        netuid: 1,
        tempo: 360,
        reveal_period_epochs: 1,
        block_time_ms: 12_000,
    };
    let state = EpochState {
        last_epoch_block: 1000,
        pending_epoch_at: 0,
        subnet_epoch_index: 42,
        blocks_since_last_step: 100,
    };
    let at = |key: &str| std::time::Duration::from_secs_f64(seen[key].as_f64().unwrap());
    let low = timelock::reveal_round_v2(&schedule, &state, &network, at("before"))
        .unwrap()
        .reveal_round;
    let high = timelock::reveal_round_v2(&schedule, &state, &network, at("after"))
        .unwrap()
        .reveal_round;
    let theirs = seen["reveal_round"].as_u64().unwrap();
    assert!(
        (low..=high).contains(&theirs),
        "bittensor-drand aims at round {theirs}, we at {low}..={high}"
    );
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(now >= at("after"));
}
