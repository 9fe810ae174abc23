//! The shipped WASM scorer gives the native scorer's exact bits, on honest answers and on
//! answers of every wrong shape.

use subforge_core::{MinerResponse, Seed};
use subforge_subnet_data::{
    DataSubnet, ModelKind, Predictions, Regression, RegressionMiner, RowGenerator,
};

use super::subnet_support::{bits, response};

#[test]
fn scores_are_bit_identical() {
    let spec = DataSubnet.regression();
    let (native, wasm) = (spec.scorer(), spec.wasm_scorer().unwrap());
    let miners = ModelKind::ALL.map(|k| RegressionMiner::new(k, 5).unwrap());
    let generator = RowGenerator::default();
    for s in 0..60u64 {
        let c = generator.challenge(Seed(s));
        let truth = c.reference.decode().unwrap();
        let mean = truth.iter().sum::<f32>() / truth.len() as f32;
        let mut responses: Vec<MinerResponse<Regression>> = miners
            .iter()
            .enumerate()
            .map(|(i, m)| response::<Regression>(i as u16, Some(m.predict(&c.task).unwrap())))
            .collect();
        let mut nan = truth.clone();
        nan[0] = f32::NAN;
        for (i, values) in [
            truth.clone(),
            vec![mean; truth.len()],
            truth.iter().map(|t| t * 1.1 + 3.0).collect(),
            truth[1..].to_vec(),
            nan,
            vec![f32::MAX; truth.len()],
            vec![-1e30; truth.len()],
        ]
        .into_iter()
        .enumerate()
        {
            responses.push(response::<Regression>(
                10 + i as u16,
                Some(Predictions::new(&values)),
            ));
        }
        responses.push(response::<Regression>(20, None));
        let n = native.score(&c.task, &c.reference, &responses).unwrap();
        let w = wasm.score(&c.task, &c.reference, &responses).unwrap();
        assert_eq!(bits(&n), bits(&w), "seed {s}");
        assert_eq!(n[3], 1.0, "the truth scores 1");
        assert_eq!(n[6], 0.0, "one row short scores 0");
        assert_eq!(n[7], 0.0, "a NaN scores 0");
    }
}
