//! The built-in miners differ clearly in quality, in the order their model order promises.

use std::time::Duration;

use subforge_core::{AccountId, Hotkey, MinerResponse, Scorer, Seed, StatusCode, Uid};
use subforge_subnet_text::{
    Completion, JunkMiner, NgramMiner, PassageGenerator, RougeL, TextGeneration, WORLD_SEED, World,
};

fn response(uid: u16, completion: Completion) -> MinerResponse<TextGeneration> {
    MinerResponse {
        uid: Uid(uid),
        hotkey: Hotkey(AccountId([uid as u8; 32])),
        status: StatusCode::SUCCESS,
        message: "Success".into(),
        latency: Duration::from_millis(5),
        payload: Some(completion),
        signature_verified: true,
    }
}

#[test]
fn model_order_sets_miner_quality() {
    let world = World::generate(WORLD_SEED);
    let generator = PassageGenerator::new(world.clone(), 12);
    let miners: Vec<NgramMiner> = [1, 2, 3, 6]
        .iter()
        .map(|&o| NgramMiner::train(&world, o))
        .collect();
    let junk = JunkMiner::new(7);
    let rounds = 300;
    let mut totals = vec![0.0; miners.len() + 1];
    for s in 0..rounds {
        let c = generator.challenge(Seed(s));
        let mut responses: Vec<_> = miners
            .iter()
            .enumerate()
            .map(|(i, m)| response(i as u16, m.complete(&c.task)))
            .collect();
        responses.push(response(9, junk.complete(&c.task)));
        let scores = RougeL.score(&c.task, &c.reference, &responses).unwrap();
        for (t, s) in totals.iter_mut().zip(scores) {
            *t += s;
        }
    }
    let means: Vec<f64> = totals.iter().map(|t| t / rounds as f64).collect();
    eprintln!("mean ROUGE-L by order 1, 2, 3, 6 and junk: {means:?}");
    for pair in means[..miners.len()].windows(2) {
        assert!(pair[1] > pair[0] + 0.02, "{means:?}");
    }
    assert!(means[miners.len() - 1] > 0.7, "{means:?}");
    assert!(means[miners.len()] < 0.05, "{means:?}");
}
