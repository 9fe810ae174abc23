//! What each built-in subnet's task costs: scoring one response natively and in the WASM
//! sandbox, and the bytes a task and an answer take on the wire (the Synapse body, JSON).
//!
//! `cargo run --release -p subforge --example subnet_costs [ROUNDS]`
//!
//! For every task it makes challenges from fixed seeds, has each of the subnet's built-in
//! models answer, then scores the same responses natively and with the shipped WASM module,
//! `ROUNDS` times (default 200) each, and prints the mean cost per response. The native and
//! WASM scores are compared bit for bit on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use subforge_core::{
    AccountId, Blob, Caller, Hotkey, MinerHandler, MinerResponse, Scorer, Seed, StatusCode, Task,
    Uid,
};
use subforge_sdk::registry::{MinerSpec, TaskSpec};
use subforge_subnet_data::DataSubnet;
use subforge_subnet_image::ImageSubnet;
use subforge_subnet_text::TextSubnet;

const CHALLENGES: u64 = 8;

fn caller() -> Caller {
    Caller {
        hotkey: Hotkey(AccountId([7; 32])),
        uid: Some(Uid(0)),
        stake: subforge_core::Balance::ZERO,
        validator_permit: true,
        ip: None,
    }
}

/// Measures one task: its challenges answered by `handlers`, scored natively and in WASM.
async fn measure<T: Task>(
    label: &str,
    spec: &TaskSpec<T>,
    handlers: &[Arc<dyn MinerHandler<T>>],
    rounds: u32,
) {
    let generator = spec.generator().unwrap();
    let (native, wasm) = (spec.scorer(), spec.wasm_scorer().unwrap());
    let mut cases = Vec::new();
    let (mut task_bytes, mut answer_bytes, mut answers) = (0usize, 0usize, 0usize);
    for s in 0..CHALLENGES {
        let c = generator.generate(Seed(s)).await.unwrap();
        task_bytes += serde_json::to_vec(&c.task).unwrap().len();
        let mut responses = Vec::new();
        for (i, h) in handlers.iter().enumerate() {
            let answer = h.forward(c.task.clone(), &caller()).await.unwrap();
            answer_bytes += serde_json::to_vec(&answer).unwrap().len();
            answers += 1;
            responses.push(MinerResponse::<T> {
                uid: Uid(i as u16),
                hotkey: Hotkey(AccountId([i as u8; 32])),
                status: StatusCode::SUCCESS,
                message: String::new(),
                latency: Duration::from_millis(3),
                payload: Some(answer),
                signature_verified: true,
            });
        }
        let n = native.score(&c.task, &c.reference, &responses).unwrap();
        let w = wasm.score(&c.task, &c.reference, &responses).unwrap();
        assert_eq!(
            n.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            w.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "{label}: native and WASM scores differ"
        );
        cases.push((c, responses));
    }
    let per_response = |scorer: &dyn Scorer<T>| {
        let start = Instant::now();
        for _ in 0..rounds {
            for (c, responses) in &cases {
                std::hint::black_box(scorer.score(&c.task, &c.reference, responses).unwrap());
            }
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds) / answers as f64
    };
    let (n_us, w_us) = (per_response(native.as_ref()), per_response(wasm.as_ref()));
    println!(
        "{label:<18} {:>9.2} µs {:>9.2} µs {:>7.1}× {:>9} B {:>9} B",
        n_us,
        w_us,
        w_us / n_us,
        task_bytes / CHALLENGES as usize,
        answer_bytes / answers,
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds: u32 = match std::env::args().nth(1) {
        None => 200,
        Some(r) => r.parse().unwrap_or_else(|_| {
            eprintln!("error: ROUNDS `{r}` is not a number\nusage: subnet_costs [ROUNDS]");
            std::process::exit(2);
        }),
    };
    println!(
        "{:<18} {:>12} {:>12} {:>8} {:>11} {:>11}",
        "task", "native/resp", "wasm/resp", "ratio", "task JSON", "answer JSON"
    );

    let text: Vec<_> = ["ngram:6", "ngram:2", "junk"]
        .iter()
        .map(|m| TextSubnet.handler(&MinerSpec::model(*m)).unwrap())
        .collect();
    measure("TextGeneration", &TextSubnet.generation(), &text, rounds).await;

    let image: Vec<_> = ["softmax", "centroid", "junk"]
        .iter()
        .map(|m| ImageSubnet.digit_miner(&MinerSpec::model(*m)).unwrap())
        .collect();
    let recognise: Vec<Arc<dyn MinerHandler<_>>> = image
        .iter()
        .map(|m| m.clone() as Arc<dyn MinerHandler<_>>)
        .collect();
    measure(
        "DigitRecognition",
        &ImageSubnet.recognition(),
        &recognise,
        rounds,
    )
    .await;
    let restore: Vec<Arc<dyn MinerHandler<_>>> = image
        .iter()
        .map(|m| m.clone() as Arc<dyn MinerHandler<_>>)
        .collect();
    measure("DigitDenoising", &ImageSubnet.denoising(), &restore, rounds).await;

    let data: Vec<Arc<dyn MinerHandler<_>>> = ["linear", "knn", "junk"]
        .iter()
        .map(|m| {
            Arc::new(DataSubnet.regression_miner(&MinerSpec::model(*m)).unwrap())
                as Arc<dyn MinerHandler<_>>
        })
        .collect();
    measure("TabularRegression", &DataSubnet.regression(), &data, rounds).await;

    // The same 16 digits as base64 (Blob) and as JSON arrays of numbers.
    let generator = ImageSubnet.recognition().generator().unwrap();
    let c = generator.generate(Seed(0)).await.unwrap();
    let as_blobs = serde_json::to_vec(&c.task.images).unwrap().len();
    let as_arrays = serde_json::to_vec(
        &c.task
            .images
            .iter()
            .map(|b: &Blob| b.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    )
    .unwrap()
    .len();
    let raw: usize = c.task.images.iter().map(Blob::len).sum();
    println!(
        "\n16 digit images ({raw} B of pixels): {as_blobs} B as base64 blobs, {as_arrays} B as JSON arrays"
    );
}
