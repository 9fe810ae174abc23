//! What one sr25519 operation costs: the floor under every signed request an axon serves
//! (one check of the caller's signature, one signature on the answer) and every target a
//! dendrite queries (the reverse). Figures in `docs/performance.md`, "Networking".
//!
//! ```sh
//! cargo bench -p subforge-core --bench sr25519
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use subforge_core::identity::{Keypair, SIGNING_CONTEXT};

fn sr25519(c: &mut Criterion) {
    let signer = Keypair::from_uri("//Alice").unwrap();
    let public = signer.public();
    let message =
        b"1700000000000000000.5Grwva.5FHneW.00000000-0000-1000-8000-000000000000.a7ffc6f8";
    let signature = signer.sign(message);
    let mut group = c.benchmark_group("sr25519");
    group.bench_function("sign", |b| b.iter(|| signer.sign(black_box(message))));
    // The two halves of a signature with a nonce prepared ahead of time.
    group.bench_function("prepare_nonce", |b| b.iter(|| signer.prepare_nonce()));
    group.bench_function("sign_prepared", |b| {
        b.iter_batched(
            || signer.prepare_nonce(),
            |nonce| signer.sign_prepared(black_box(message), nonce),
            criterion::BatchSize::SmallInput,
        );
    });
    group.bench_function("verify", |b| {
        b.iter(|| assert!(public.verify(black_box(message), &signature)));
    });
    // The same check with the public key already decompressed (what a cache of keys saves).
    let key = schnorrkel::PublicKey::from_bytes(&public.0).unwrap();
    let sig = schnorrkel::Signature::from_bytes(&signature.0).unwrap();
    group.bench_function("verify_known_key", |b| {
        b.iter(|| {
            key.verify_simple(SIGNING_CONTEXT, black_box(message), &sig)
                .unwrap();
        });
    });
    group.bench_function("decompress_key", |b| {
        b.iter(|| schnorrkel::PublicKey::from_bytes(black_box(&public.0)).unwrap());
    });
    // 64 (and 32) signatures checked as one batch, per batch.
    let signers: Vec<Keypair> = (0..64)
        .map(|i| Keypair::from_uri(&format!("//bench/{i}")).unwrap())
        .collect();
    let sigs: Vec<schnorrkel::Signature> = signers
        .iter()
        .map(|k| schnorrkel::Signature::from_bytes(&k.sign(message).0).unwrap())
        .collect();
    let keys: Vec<schnorrkel::PublicKey> = signers
        .iter()
        .map(|k| schnorrkel::PublicKey::from_bytes(&k.public().0).unwrap())
        .collect();
    let context = schnorrkel::signing_context(SIGNING_CONTEXT);
    group.bench_function("verify_batch_64", |b| {
        b.iter(|| {
            let transcripts = (0..64).map(|_| context.bytes(black_box(message)));
            schnorrkel::verify_batch(transcripts, &sigs, &keys, false).unwrap();
        });
    });
    // The largest group a dendrite checks at once.
    group.bench_function("verify_batch_32", |b| {
        b.iter(|| {
            let transcripts = (0..32).map(|_| context.bytes(black_box(message)));
            schnorrkel::verify_batch(transcripts, &sigs[..32], &keys[..32], false).unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, sr25519);
criterion_main!(benches);
