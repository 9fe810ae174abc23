//! Signature checks with the signers' public keys decompressed once.
//!
//! Checking an sr25519 signature starts by decompressing the signer's public key from its 32
//! bytes, a square root in the field that costs about a tenth of the whole check. An axon
//! hears from the same few validators over and over, and a dendrite from the same miners, so
//! the keys of signatures that checked out are kept, up to [`CAPACITY`] of them (then the
//! store starts afresh: memory stays bounded whoever calls). A key is kept only after a good
//! signature, so a caller cannot fill the store with keys it does not hold.
//!
//! Signatures that arrive together (a dendrite's answers from a fan-out) are checked as one
//! batch with [`verify_all`]: about 24 µs each for 32 instead of 44 µs. A batch that fails is
//! checked again one by one, so a bad signature is refused alone and never takes good ones
//! with it; after a failed batch the next group is checked one by one, so a miner answering
//! with bad signatures cannot make every check cost twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// A signer's key and signature, parsed; `known` when the key came from the store.
#[derive(Clone, Copy)]
struct Parsed {
    key: schnorrkel::PublicKey,
    signature: schnorrkel::Signature,
    known: bool,
}

impl Parsed {
    /// `None` when the signature or the key cannot be parsed.
    fn new(signer: &AccountId, signature: &Signature) -> Option<Self> {
        let signature = schnorrkel::Signature::from_bytes(&signature.0).ok()?;
        let (key, known) = match cached(signer) {
            Some(key) => (key, true),
            None => (schnorrkel::PublicKey::from_bytes(&signer.0).ok()?, false),
        };
        Some(Self {
            key,
            signature,
            known,
        })
    }

    /// Checks the signature over `message`, keeping a new key once it has proved itself.
    fn verify(self, signer: &AccountId, message: &[u8]) -> bool {
        let good = self
            .key
            .verify_simple(SIGNING_CONTEXT, message, &self.signature)
            .is_ok();
        if good && !self.known {
            remember(signer, self.key);
        }
        good
    }
}

/// Whether `signature` is `signer`'s sr25519 signature over `message` (context `substrate`);
/// the same answer as [`AccountId::verify`], without decompressing a known key again.
pub fn verify(signer: &AccountId, message: &[u8], signature: &Signature) -> bool {
    Parsed::new(signer, signature).is_some_and(|p| p.verify(signer, message))
}

/// A signature to check: who claims to have signed which message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claimed signer.
    pub signer: AccountId,
    /// The signed bytes.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

impl Claim {
    /// Whether the signature checks, as [`verify`].
    pub fn verify(&self) -> bool {
        verify(&self.signer, &self.message, &self.signature)
    }
}

/// Set when a batch failed; later groups are checked one by one until one whose well-formed
/// signatures all check.
static LAST_BATCH_FAILED: AtomicBool = AtomicBool::new(false);

/// Whether each claim's signature checks: the same answers as [`Claim::verify`] on each, for
/// less work when there are several.
pub fn verify_all(claims: &[Claim]) -> Vec<bool> {
    let parsed: Vec<Option<Parsed>> = claims
        .iter()
        .map(|c| Parsed::new(&c.signer, &c.signature))
        .collect();
    // Claims that do not parse are refused without a check, and never make a batch fail.
    let well_formed = parsed.iter().flatten().count();
    let one_by_one = || -> Vec<bool> {
        claims
            .iter()
            .zip(&parsed)
            .map(|(c, p)| p.is_some_and(|p| p.verify(&c.signer, &c.message)))
            .collect()
    };
    if well_formed < 2 {
        return one_by_one();
    }
    if LAST_BATCH_FAILED.load(Ordering::Relaxed) {
        let checked = one_by_one();
        let clean = parsed
            .iter()
            .zip(&checked)
            .all(|(p, ok)| p.is_none() || *ok);
        if clean {
            LAST_BATCH_FAILED.store(false, Ordering::Relaxed);
        }
        return checked;
    }
    let batch: Vec<(&Claim, Parsed)> = claims
        .iter()
        .zip(&parsed)
        .filter_map(|(c, p)| Some((c, (*p)?)))
        .collect();
    let keys: Vec<_> = batch.iter().map(|(_, p)| p.key).collect();
    let sigs: Vec<_> = batch.iter().map(|(_, p)| p.signature).collect();
    let context = schnorrkel::signing_context(SIGNING_CONTEXT);
    let transcripts = batch.iter().map(|(c, _)| context.bytes(&c.message));
    if schnorrkel::verify_batch(transcripts, &sigs, &keys, false).is_ok() {
        for (c, p) in batch.iter().filter(|(_, p)| !p.known) {
            remember(&c.signer, p.key);
        }
        return parsed.iter().map(Option::is_some).collect();
    }
    // Some signature in the batch is bad: find which, one by one.
    LAST_BATCH_FAILED.store(true, Ordering::Relaxed);
    one_by_one()
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

    fn claim(signer: &Keypair, message: &[u8]) -> Claim {
        Claim {
            signer: signer.public(),
            message: message.to_vec(),
            signature: signer.sign(message),
        }
    }

    #[test]
    fn a_batch_gives_the_answers_of_one_by_one_checks() {
        let signers: Vec<Keypair> = (0..5)
            .map(|i| Keypair::from_uri(&format!("//Batch{i}")).unwrap())
            .collect();
        let good: Vec<Claim> = signers
            .iter()
            .enumerate()
            .map(|(i, k)| claim(k, format!("answer {i}").as_bytes()))
            .collect();
        assert!(verify_all(&[]).is_empty());
        assert_eq!(verify_all(&good[..1]), [true]);
        assert_eq!(verify_all(&good), [true; 5]);

        // One bad signature of each kind among good ones: only it is refused.
        let mut wrong_message = good.clone();
        wrong_message[2].message = b"another answer".to_vec();
        let mut wrong_key = good.clone();
        wrong_key[0].signer = signers[1].public();
        let mut not_a_key = good.clone();
        not_a_key[4].signer = AccountId([0xff; 32]);
        let mut unparsable = good.clone();
        unparsable[3].signature = Signature([0; 64]);
        // Claims that do not parse stay out of the batch; ones that parse but do not check
        // make it fail.
        for (bad, at, fails_the_batch) in [
            (wrong_message, 2, true),
            (wrong_key, 0, true),
            (not_a_key, 4, false),
            (unparsable, 3, false),
        ] {
            let expected: Vec<bool> = (0..5).map(|i| i != at).collect();
            assert_eq!(verify_all(&bad), expected, "bad claim at {at}");
            let one_by_one: Vec<bool> = bad.iter().map(Claim::verify).collect();
            assert_eq!(one_by_one, expected);
            // A failed batch sends the next group one by one, until a group is all good.
            let failed = LAST_BATCH_FAILED.load(Ordering::Relaxed);
            assert_eq!(failed, fails_the_batch, "bad claim at {at}");
            assert_eq!(verify_all(&bad), expected);
            assert_eq!(LAST_BATCH_FAILED.load(Ordering::Relaxed), failed);
            assert_eq!(verify_all(&good), [true; 5]);
            assert!(!LAST_BATCH_FAILED.load(Ordering::Relaxed));
        }

        // After a failed batch, a group that is clean but for claims that do not parse brings
        // batching back.
        let mut poisoned = good.clone();
        poisoned[1].message.push(b'?');
        assert_eq!(verify_all(&poisoned), [true, false, true, true, true]);
        assert!(LAST_BATCH_FAILED.load(Ordering::Relaxed));
        let mut unparsable_one = good.clone();
        unparsable_one[2].signature = Signature([0; 64]);
        assert_eq!(verify_all(&unparsable_one), [true, true, false, true, true]);
        assert!(!LAST_BATCH_FAILED.load(Ordering::Relaxed));

        // All bad, and a batch of one good among unparsable ones.
        let mut all_bad = good.clone();
        for c in &mut all_bad {
            c.message.push(b'!');
        }
        assert_eq!(verify_all(&all_bad), [false; 5]);
        let mut lone = good;
        for c in &mut lone[1..] {
            c.signature = Signature([0; 64]);
        }
        assert_eq!(verify_all(&lone), [true, false, false, false, false]);
    }
}
