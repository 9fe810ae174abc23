//! The Subtensor client against answers recorded from finney nodes: the metagraph of subnet 1
//! at runtime spec 343 (1024 neurons, the selective mechagraph) and a balance, decoded by the
//! client from the runtime metadata and checked against an independent decoder written by
//! hand from the chain's struct layouts. (The older recordings, of spec 208, are left out:
//! their runtime APIs answered opaque byte vectors that today's metadata does not describe.)

use std::path::Path;

use parity_scale_codec::{Compact, Decode};
use serde_json::Value as Json;
use subforge_core::{NetUid, Uid};
use subforge_sdk::chain::subtensor::Subtensor;
use subforge_sdk::chain::subtensor::replay::Replay;
use subforge_sdk::chain::{Chain, ChainError};

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/subtensor")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn recording() -> String {
    String::from_utf8(data("recorded-rpc.json")).unwrap()
}

/// A client of the recorded scenario, served the spec-393 metadata: the recorded runtimes'
/// own metadata describes no runtime APIs, and these APIs' types did not change since (the
/// independent decoder below is the check).
async fn replay(scenario: &str) -> Subtensor {
    let replay =
        Replay::from_recording(&recording(), scenario, data("finney-v16-spec393.scale")).unwrap();
    Subtensor::builder().connect_with(replay).await.unwrap()
}

/// The raw answer recorded for a runtime API in a scenario.
fn recorded_call(scenario: &str, api: &str) -> Vec<u8> {
    let all: Json = serde_json::from_str(&recording()).unwrap();
    let calls = all[scenario]["state_call"].as_object().unwrap();
    let (_, response) = calls
        .iter()
        .find(|(params, _)| params.contains(api))
        .unwrap_or_else(|| panic!("{api} is not recorded in {scenario}"));
    let hex = response["result"].as_str().unwrap();
    hex::decode(hex.trim_start_matches("0x")).unwrap()
}

// The chain's `NeuronInfoLite` as its runtime lays it out, declared by hand.
#[derive(Debug, Decode)]
struct Axon {
    block: u64,
    version: u32,
    ip: u128,
    port: u16,
    ip_type: u8,
    _protocol: u8,
    _placeholder1: u8,
    _placeholder2: u8,
}

#[derive(Debug, Decode)]
struct Prometheus {
    _block: u64,
    _version: u32,
    _ip: u128,
    _port: u16,
    _ip_type: u8,
}

#[derive(Debug, Decode)]
struct NeuronLite {
    hotkey: [u8; 32],
    coldkey: [u8; 32],
    uid: Compact<u16>,
    netuid: Compact<u16>,
    active: bool,
    axon: Axon,
    _prometheus: Prometheus,
    stake: Vec<([u8; 32], Compact<u64>)>,
    _rank: Compact<u16>,
    emission: Compact<u64>,
    incentive: Compact<u16>,
    consensus: Compact<u16>,
    trust: Compact<u16>,
    validator_trust: Compact<u16>,
    dividends: Compact<u16>,
    last_update: Compact<u64>,
    validator_permit: bool,
    _pruning_score: Compact<u16>,
}

fn hand_decoded(bytes: &[u8]) -> Vec<NeuronLite> {
    let mut input = bytes;
    let neurons = Vec::<NeuronLite>::decode(&mut input).unwrap();
    assert!(input.is_empty(), "{} bytes left over", input.len());
    neurons
}

/// Every field the metagraph takes from the neuron list equals the hand decoder's.
fn assert_neurons_match(m: &subforge_core::Metagraph, expected: &[NeuronLite]) {
    assert_eq!(m.n(), expected.len());
    for (i, e) in expected.iter().enumerate() {
        let uid = Uid(e.uid.0);
        assert_eq!(uid.index(), i, "uids come in order");
        assert_eq!(e.netuid.0, m.netuid.get());
        let u = uid.index();
        assert_eq!(m.hotkeys[u].0.0, e.hotkey, "uid {uid}");
        assert_eq!(m.coldkeys[u].0.0, e.coldkey, "uid {uid}");
        assert_eq!(m.active[u], e.active, "uid {uid}");
        assert_eq!(m.emission[u].rao(), e.emission.0, "uid {uid}");
        assert_eq!(m.incentive[u].0, e.incentive.0, "uid {uid}");
        assert_eq!(m.consensus[u].0, e.consensus.0, "uid {uid}");
        assert_eq!(m.validator_trust[u].0, e.validator_trust.0, "uid {uid}");
        assert_eq!(m.dividends[u].0, e.dividends.0, "uid {uid}");
        assert_eq!(m.last_update[u].get(), e.last_update.0, "uid {uid}");
        assert_eq!(m.validator_permit[u], e.validator_permit, "uid {uid}");
        let a = &m.axons[u];
        assert_eq!(a.block.get(), e.axon.block, "uid {uid}");
        assert_eq!(a.version, e.axon.version, "uid {uid}");
        assert_eq!(a.port, e.axon.port, "uid {uid}");
        if e.axon.ip_type == 4 {
            assert_eq!(a.ip_u128(), e.axon.ip, "uid {uid}");
        }
        let _ = (e.trust.0, e.stake.len());
    }
}

#[tokio::test]
async fn the_metagraph_of_subnet_1_decodes_as_recorded() {
    let chain = replay("metagraph").await;
    let m = chain.metagraph(NetUid(1)).await.unwrap();
    m.validate().unwrap();
    assert_eq!(m.netuid, NetUid(1));
    assert_eq!(m.block.get(), 6_852_690, "the recorded head");
    assert_neurons_match(
        &m,
        &hand_decoded(&recorded_call("metagraph", "get_neurons_lite")),
    );
    // From the selective mechagraph: the subnet's settings and each uid's registration block.
    let h = &m.hyperparameters;
    assert_eq!(
        (
            h.tempo,
            h.immunity_period,
            h.max_allowed_uids,
            h.max_allowed_validators
        ),
        (99, 7200, 1024, 128)
    );
    assert_eq!(
        (h.weights_version_key, h.weights_set_rate_limit),
        (21_706, 100)
    );
    assert!(h.commit_reveal_weights_enabled);
    assert_eq!(m.tempo, 99);
    assert_eq!(m.last_step.get(), 6_852_597);
    assert!(m.block_at_registration.iter().all(|b| b.get() <= 6_852_690));
    assert!(m.block_at_registration.iter().any(|b| b.get() > 0));
    assert_eq!(
        m.hotkeys[0].to_ss58(),
        "5DkMmXtWf16RNdusZGCrJ7ca7ADPgRnZLVWCWbgA7s7sy1AQ"
    );
    let served = m.axons.iter().filter(|a| a.is_serving()).count();
    assert!(served > 100, "{served} of 1024 axons serve");
}

#[tokio::test]
async fn an_unrecorded_subnet_is_an_error_not_a_guess() {
    let chain = replay("metagraph").await;
    let e = chain.metagraph(NetUid(5)).await.unwrap_err();
    assert!(matches!(e, ChainError::Rpc { code: -32601, .. }), "{e:?}");
    assert!(e.to_string().contains("not recorded"), "{e}");
}

#[tokio::test]
async fn a_balance_decodes_as_recorded() {
    let all: Json = serde_json::from_str(&recording()).unwrap();
    let storage = all["get_balance"]["state_getStorageAt"]
        .as_object()
        .unwrap();
    let (params, response) = storage.iter().next().unwrap();
    // System.Account's key ends with the account (Blake2_128Concat).
    let key: Vec<String> = serde_json::from_str(params).unwrap();
    let key = hex::decode(key[0].trim_start_matches("0x")).unwrap();
    let account = subforge_core::AccountId(key[key.len() - 32..].try_into().unwrap());
    let value = hex::decode(
        response["result"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    // AccountInfo: nonce u32, consumers u32, providers u32, sufficients u32, then free.
    let free = u64::from_le_bytes(value[16..24].try_into().unwrap());

    let chain = replay("get_balance").await;
    assert_eq!(chain.balance(&account).await.unwrap().rao(), free);
    assert!(free > 0);
}
