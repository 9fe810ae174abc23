//! Signature checks with the signers' public keys decompressed once.
//!
//! Checking an sr25519 signature starts by decompressing the signer's public key from its 32
//! bytes, a square root in the field that costs about a tenth of the whole check. An axon
//! hears from the same few validators over and over, and a dendrite from the same miners, so
//! the keys of signatures that checked out are kept, up to [`CAPACITY`] of them (then the
//! store starts afresh: memory stays bounded whoever calls). A key is kept only after a good
//! signature, so a caller cannot fill the store with keys it does not hold.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use subforge_core::Signature;
use subforge_core::identity::{AccountId, SIGNING_CONTEXT};

/// The most decompressed keys kept.
pub const CAPACITY: usize = 4096;

static KEYS: Mutex<Option<HashMap<[u8; 32], schnorrkel::PublicKey>>> = Mutex::new(None);

fn cached(account: &AccountId) -> Option<schnorrkel::PublicKey> {
    let keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    keys.as_ref()?.get(&account.0).copied()
}

fn remember(account: &AccountId, key: schnorrkel::PublicKey) {
    let mut keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    let keys = keys.get_or_insert_with(HashMap::new);
    if keys.len() >= CAPACITY {
        keys.clear();
    }
    keys.insert(account.0, key);
}

/// Whether `signature` is `signer`'s sr25519 signature over `message` (context `substrate`);
/// the same answer as [`AccountId::verify`], without decompressing a known key again.
pub fn verify(signer: &AccountId, message: &[u8], signature: &Signature) -> bool {
    let Ok(sig) = schnorrkel::Signature::from_bytes(&signature.0) else {
        return false;
    };
    if let Some(key) = cached(signer) {
        return key.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok();
    }
    let Ok(key) = schnorrkel::PublicKey::from_bytes(&signer.0) else {
        return false;
    };
    let good = key.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok();
    if good {
        remember(signer, key);
    }
    good
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::identity::Keypair;

    #[test]
    fn agrees_with_the_uncached_check_and_keeps_only_proven_keys() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let a = alice.public();
        let good = alice.sign(b"hello");
        let wrong = bob.sign(b"hello");
        for _ in 0..2 {
            // First with the key unknown, then known: the same answers.
            assert!(verify(&a, b"hello", &good));
            assert!(!verify(&a, b"hullo", &good));
            assert!(!verify(&a, b"hello", &wrong));
            assert!(!verify(&a, b"hello", &Signature([0; 64])));
        }
        assert!(cached(&a).is_some());
        // A key whose signature failed is not kept; a non-point key fails cleanly.
        let c = Keypair::from_uri("//NeverSignedForTheKeyStore")
            .unwrap()
            .public();
        assert!(!verify(&c, b"hello", &good));
        assert!(cached(&c).is_none());
        assert!(!verify(&AccountId([0xff; 32]), b"hello", &good));
    }
}
