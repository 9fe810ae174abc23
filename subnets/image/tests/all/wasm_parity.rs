//! The shipped WASM scorers give the native scorers' exact bits, on honest answers and on
//! answers of every wrong shape.

use subforge_core::{Blob, MinerResponse, Seed};
use subforge_subnet_image::{
    DenoisedImage, DenoisingGenerator, DigitDenoising, DigitLabels, DigitMiner, DigitRecognition,
    ImageSubnet, Model, RecognitionGenerator,
};

use super::subnet_support::{bits, response};

#[test]
fn recognition_scores_are_bit_identical() {
    let spec = ImageSubnet.recognition();
    let (native, wasm) = (spec.scorer(), spec.wasm_scorer().unwrap());
    let miners = Model::ALL.map(|m| DigitMiner::new(m, 9));
    let generator = RecognitionGenerator::new();
    for s in 0..60u64 {
        let c = generator.challenge(Seed(s)).unwrap();
        let mut responses: Vec<MinerResponse<DigitRecognition>> = miners
            .iter()
            .enumerate()
            .map(|(i, m)| response(i as u16, Some(m.recognise(&c.task).unwrap())))
            .collect();
        let truth = c.reference.labels.clone();
        for (i, labels) in [
            truth.clone(),
            truth[..truth.len() / 2].to_vec(),
            [truth.clone(), vec![1]].concat(),
            vec![255; truth.len()],
            Vec::new(),
        ]
        .into_iter()
        .enumerate()
        {
            responses.push(response(10 + i as u16, Some(DigitLabels { labels })));
        }
        responses.push(response(20, None));
        let n = native.score(&c.task, &c.reference, &responses).unwrap();
        let w = wasm.score(&c.task, &c.reference, &responses).unwrap();
        assert_eq!(bits(&n), bits(&w), "seed {s}");
        assert_eq!(n[3], 1.0, "the truth scores 1");
    }
}

#[test]
fn restoration_scores_are_bit_identical() {
    let spec = ImageSubnet.denoising();
    let (native, wasm) = (spec.scorer(), spec.wasm_scorer().unwrap());
    let miners = Model::ALL.map(|m| DigitMiner::new(m, 4));
    let generator = DenoisingGenerator::new();
    for s in 0..60u64 {
        let c = generator.challenge(Seed(s));
        let mut responses: Vec<MinerResponse<DigitDenoising>> = miners
            .iter()
            .enumerate()
            .map(|(i, m)| response(i as u16, Some(m.denoise(&c.task).unwrap())))
            .collect();
        let clean = c.reference.image.clone();
        for (i, image) in [
            clean.clone(),
            c.task.image.clone(),
            Blob(clean[..10].to_vec()),
            Blob(vec![0; clean.len()]),
            Blob(vec![255; clean.len()]),
        ]
        .into_iter()
        .enumerate()
        {
            responses.push(response(10 + i as u16, Some(DenoisedImage { image })));
        }
        responses.push(response(20, None));
        let n = native.score(&c.task, &c.reference, &responses).unwrap();
        let w = wasm.score(&c.task, &c.reference, &responses).unwrap();
        assert_eq!(bits(&n), bits(&w), "seed {s}");
        assert_eq!(n[3], 1.0, "the clean image scores 1");
        assert_eq!(n[5], 0.0, "a cut image scores 0");
    }
}
