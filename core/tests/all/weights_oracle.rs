//! The validator weight pipeline against the chain's own encoding and hashing (`sp-core`'s
//! blake2-256 over `parity-scale-codec`), as `get_commit_hash` computes a commit.

use parity_scale_codec::Encode;
use proptest::prelude::*;
use sp_core::crypto::AccountId32;
use subforge_core::weights::{
    WeightLimits, commit_hash, process_weights, quantize, stored_weights,
};
use subforge_core::{AccountId, NetUid, Uid};

fn chain_hash(
    key: [u8; 32],
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let who = AccountId32::new(key);
    let tuple = (
        who,
        netuid,
        uids.to_vec(),
        values.to_vec(),
        salt.to_vec(),
        version_key,
    );
    sp_core::hashing::blake2_256(&tuple.encode())
}

#[test]
fn commit_hash_matches_the_chain_for_a_typical_commit() {
    let key = [7u8; 32];
    let uids = [0u16, 3, 9];
    let values = [65535u16, 1200, 7];
    let salt = [1u16, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(
        commit_hash(&AccountId(key), NetUid(42), &uids, &values, &salt, 4),
        chain_hash(key, 42, &uids, &values, &salt, 4)
    );
}

#[test]
fn commit_hash_matches_the_chain_for_long_vectors() {
    // 64 and 16384 entries switch the SCALE length prefix to two and four bytes.
    for len in [63usize, 64, 300, 16_383, 16_384, 20_000] {
        let uids: Vec<u16> = (0..len).map(|i| i as u16).collect();
        let values: Vec<u16> = (0..len).map(|i| (i * 7 % 65536) as u16).collect();
        assert_eq!(
            commit_hash(
                &AccountId([9; 32]),
                NetUid(1),
                &uids,
                &values,
                &[],
                u64::MAX
            ),
            chain_hash([9; 32], 1, &uids, &values, &[], u64::MAX),
            "length {len}"
        );
    }
}

proptest! {
    #[test]
    fn commit_hash_matches_the_chain(
        key in any::<[u8; 32]>(),
        netuid in any::<u16>(),
        uids in prop::collection::vec(any::<u16>(), 0..80),
        values in prop::collection::vec(any::<u16>(), 0..80),
        salt in prop::collection::vec(any::<u16>(), 0..16),
        version_key in any::<u64>(),
    ) {
        prop_assert_eq!(
            commit_hash(&AccountId(key), NetUid(netuid), &uids, &values, &salt, version_key),
            chain_hash(key, netuid, &uids, &values, &salt, version_key)
        );
    }

    #[test]
    fn processed_weights_sum_to_one_and_respect_the_limit(
        scores in prop::collection::vec(0.0f64..100.0, 1..64),
        limit in 1024u16..=65535,
    ) {
        let limits = WeightLimits { min_allowed_weights: 1, max_weight_limit: limit };
        let w = process_weights(&scores, &[], limits).unwrap();
        let total: f64 = w.iter().map(|x| x.1).sum();
        prop_assert!((total - 1.0).abs() < 1e-9);
        let cap = f64::from(limit) / 65535.0;
        // The SDK's cutoff leaves the limit reachable only up to its epsilon.
        if (w.len() as f64) * cap > 1.0 {
            prop_assert!(w.iter().all(|x| x.1 <= cap + 1e-6), "{:?}", w);
        }
        let (uids, values) = quantize(&w);
        prop_assert_eq!(uids.len(), values.len());
        prop_assert!(values.iter().all(|&v| v > 0));
        prop_assert_eq!(values.iter().copied().max(), Some(65535));
        // The chain stores a quantised vector unchanged: its maximum already is 65535.
        let stored = stored_weights(&uids, &values).unwrap();
        prop_assert!(stored.iter().zip(&values).all(|(s, v)| s.1 == *v));
        prop_assert!(uids.iter().all(|&u| usize::from(u) < scores.len()));
        prop_assert!(w.iter().all(|x| x.0 < Uid(scores.len() as u16)));
    }
}
