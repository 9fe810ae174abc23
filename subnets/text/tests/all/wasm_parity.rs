//! The bundled WASM scorer gives the native scorer's exact bits.

use std::time::Duration;

use subforge_core::{AccountId, Hotkey, MinerResponse, Scorer, Seed, StatusCode, Uid};
use subforge_subnet_text::{
    Completion, JunkMiner, NgramMiner, PassageGenerator, RougeL, TextGeneration, TextSubnet,
    WORLD_SEED, World,
};

fn response(uid: u16, status: StatusCode, text: &str) -> MinerResponse<TextGeneration> {
    MinerResponse {
        uid: Uid(uid),
        hotkey: Hotkey(AccountId([uid as u8; 32])),
        status,
        message: String::new(),
        latency: Duration::from_micros(u64::from(uid) * 37),
        payload: status.is_success().then(|| Completion {
            text: text.to_owned(),
        }),
        signature_verified: true,
    }
}

#[test]
fn wasm_and_native_scores_are_bit_identical() {
    let world = World::generate(WORLD_SEED);
    let generator = PassageGenerator::new(world.clone(), 12);
    let miners = [NgramMiner::train(&world, 2), NgramMiner::train(&world, 5)];
    let junk = JunkMiner::new(3);
    let wasm = TextSubnet.generation().wasm_scorer().unwrap();
    let odd = [
        "",
        "  ",
        "ÄÖÜ ß naïve — “quoted” 漢字.",
        "by by by by by by by by by by by by by by",
    ];
    for s in 0..150u64 {
        let c = generator.challenge(Seed(s));
        let mut responses: Vec<_> = miners
            .iter()
            .enumerate()
            .map(|(i, m)| response(i as u16, StatusCode::SUCCESS, &m.complete(&c.task).text))
            .collect();
        responses.push(response(
            7,
            StatusCode::SUCCESS,
            &junk.complete(&c.task).text,
        ));
        responses.push(response(8, StatusCode::SUCCESS, odd[(s % 4) as usize]));
        responses.push(response(9, StatusCode::TIMEOUT, ""));
        responses.push(response(10, StatusCode::SUCCESS, &c.reference.text));
        let native = RougeL.score(&c.task, &c.reference, &responses).unwrap();
        let sandboxed = wasm.score(&c.task, &c.reference, &responses).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&native), bits(&sandboxed), "challenge {s}");
        assert_eq!(native[responses.len() - 1], 1.0);
        assert_eq!(native[responses.len() - 2], 0.0);
    }
}
