//! A real Python peer: bittensor 10.5.0's dendrite sends the image tasks to a Subforge image
//! miner as Python synapses whose binary fields are base64 `str`s, and reads the answers.

use serde_json::{Value, json};
use subforge_core::{Seed, Task};
use subforge_subnet_image::{
    DenoisingGenerator, DigitDenoising, DigitMiner, DigitRecognition, ImageSubnet, Model,
    RecognitionGenerator,
};

use super::chain_support::*;
use super::python::venv;
use super::subnet_support::*;

const PEER: &str = "//Charlie//python";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_dendrite_gets_answers_with_binary_fields() {
    let python = venv("bt10", &["bittensor==10.5.0"]);
    let (chain, shared, netuid) = chain_and_subnet().await;
    // The Python dendrite's hotkey is registered, so the miner serves it.
    register_validator(&chain, netuid, PEER).await;
    let miners = start_miners(&ImageSubnet, &chain, &shared, netuid, &["softmax"]).await;
    let miner = DigitMiner::new(Model::Softmax, 0);

    let recognition = RecognitionGenerator::new().challenge(Seed(4)).unwrap().task;
    let denoising = DenoisingGenerator::new().challenge(Seed(4)).task;
    // The body hash covers the task's `HASH_FIELDS`, in their order, on both sides.
    let case = |name: &str, hash_fields: &[&str], task: Value, inputs: Value, outputs: Value| {
        json!({
            "name": name,
            "inputs": inputs,
            "outputs": outputs,
            "hash_fields": hash_fields,
            "request": task,
        })
    };
    let cases = json!([
        case(
            DigitRecognition::NAME,
            DigitRecognition::HASH_FIELDS,
            serde_json::to_value(&recognition).unwrap(),
            json!({"width": "int", "height": "int", "images": "list[str]"}),
            json!({"labels": "list[int]"}),
        ),
        case(
            DigitDenoising::NAME,
            DigitDenoising::HASH_FIELDS,
            serde_json::to_value(&denoising).unwrap(),
            json!({"width": "int", "height": "int", "image": "str"}),
            json!({"image": "str"}),
        ),
        // Not base64: refused with a parse error, not a panic or a silent zero image.
        case(
            DigitDenoising::NAME,
            DigitDenoising::HASH_FIELDS,
            json!({"width": 8, "height": 8, "image": "not base64!"}),
            json!({"width": "int", "height": "int", "image": "str"}),
            json!({"image": "str"}),
        ),
    ]);
    let out = run_python_peer(
        &python,
        "synapse10",
        json!({
            "addr": miners[0].local_addr().to_string(),
            "axon_hotkey": hot(&key("//Bob//miner0")).to_ss58(),
            "member_uri": PEER,
            "cases": cases,
        }),
    )
    .await;

    let labels = miner.recognise(&recognition).unwrap().labels;
    assert_eq!(out[0]["status"], 200, "{out}");
    assert_eq!(out[0]["outputs"]["labels"], json!(labels));
    let restored = miner.denoise(&denoising).unwrap().image;
    assert_eq!(out[1]["status"], 200, "{out}");
    // The image comes back as the base64 text Python's `base64.b64decode` reads.
    assert_eq!(
        out[1]["outputs"]["image"],
        serde_json::to_value(&restored).unwrap()
    );
    assert_eq!(out[2]["status"], 400, "{out}");
    assert!(
        out[2]["message"].as_str().unwrap().contains("base64"),
        "{out}"
    );
    for m in miners {
        m.shutdown().await;
    }
}
