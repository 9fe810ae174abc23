//! Signing with a nonce prepared ahead of time.
//!
//! An sr25519 signature is `(R, s)` with `R = r·G` for a fresh secret scalar `r` and
//! `s = r + c·k`, where `c` is the challenge of the transcript that binds the context, the
//! message, the public key and `R`. Computing `R` (a multiplication by the base point and its
//! compression) is most of the cost of a signature, and it does not depend on the message. A
//! [`PreparedNonce`] is that part, done before the message is known, so that signing later is
//! only the transcript and one multiply-add.
//!
//! The signatures are the ones schnorrkel makes: the same transcript, the same encoding, and
//! every sr25519 verifier accepts them. What differs is where `r` comes from: schnorrkel draws
//! it from the operating system's random source mixed with the key's nonce seed and the
//! message; a prepared nonce mixes the random source with the key's nonce seed only, since the
//! message does not exist yet. A nonce must never sign twice (two signatures with one `r`
//! reveal the key), so [`Keypair::sign_prepared`] takes it by value and it cannot be cloned.

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use schnorrkel::context::SigningTranscript;
use zeroize::{Zeroize, Zeroizing};

use super::keypair::Keypair;
use super::{SIGNING_CONTEXT, Signature};

/// A secret signing nonce `r` and its commitment `R = r·G`, for one signature.
///
/// Not `Clone`: signing consumes it. The secret is wiped when it is dropped.
pub struct PreparedNonce {
    r: Scalar,
    commitment: CompressedRistretto,
}

impl Drop for PreparedNonce {
    fn drop(&mut self) {
        self.r.zeroize();
    }
}

impl fmt::Debug for PreparedNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PreparedNonce(R = 0x{}, r redacted)",
            hex::encode(self.commitment.as_bytes())
        )
    }
}

/// The domain of the transcript that draws prepared nonces, kept apart from every signing
/// transcript.
const NONCE_DOMAIN: &[u8] = b"subforge prepared sr25519 nonce";

impl Keypair {
    /// Draws a fresh nonce for one later signature: the expensive half of signing.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, as [`Keypair::sign`] does.
    pub fn prepare_nonce(&self) -> PreparedNonce {
        let secret = self.secret_key_bytes();
        let mut seed = schnorrkel::signing_context(NONCE_DOMAIN).bytes(&[]);
        seed.proto_name(b"Schnorr-sig");
        seed.commit_point(b"sign:pk", self.schnorrkel().public.as_compressed());
        let r = seed.witness_scalar(b"signing", &[&secret[32..]]);
        let commitment = (&r * RISTRETTO_BASEPOINT_TABLE).compress();
        PreparedNonce { r, commitment }
    }

    /// Signs `message` (context `substrate`) with a nonce drawn earlier by
    /// [`Keypair::prepare_nonce`]. The result is an ordinary sr25519 signature.
    pub fn sign_prepared(&self, message: &[u8], nonce: PreparedNonce) -> Signature {
        let pair = self.schnorrkel();
        let mut t = schnorrkel::signing_context(SIGNING_CONTEXT).bytes(message);
        t.proto_name(b"Schnorr-sig");
        t.commit_point(b"sign:pk", pair.public.as_compressed());
        t.commit_point(b"sign:R", &nonce.commitment);
        let c = t.challenge_scalar(b"sign:c");
        let secret = self.secret_key_bytes();
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        key_bytes.copy_from_slice(&secret[..32]);
        let mut key = Scalar::from_bytes_mod_order(*key_bytes);
        let s = c * key + nonce.r;
        key.zeroize();
        // schnorrkel's encoding: R ‖ s, with the top bit of the last byte marking sr25519.
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(nonce.commitment.as_bytes());
        bytes[32..].copy_from_slice(s.as_bytes());
        bytes[63] |= 0x80;
        Signature(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_signatures_verify_like_any_other() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let public = alice.public();
        for len in [0usize, 1, 31, 32, 33, 200, 4096] {
            let message: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let sig = alice.sign_prepared(&message, alice.prepare_nonce());
            assert!(public.verify(&message, &sig), "length {len}");
            // schnorrkel's own parser and check, with the sr25519 marker bit.
            let parsed = schnorrkel::Signature::from_bytes(&sig.0).unwrap();
            let key = schnorrkel::PublicKey::from_bytes(&public.0).unwrap();
            key.verify_simple(SIGNING_CONTEXT, &message, &parsed)
                .unwrap();
        }
    }

    #[test]
    fn prepared_signatures_bind_message_key_and_nonce() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let a = alice.sign_prepared(b"pay 1", alice.prepare_nonce());
        let b = alice.sign_prepared(b"pay 1", alice.prepare_nonce());
        // Fresh nonces: two signatures of one message differ in R and in s.
        assert_ne!(a.0[..32], b.0[..32]);
        assert_ne!(a.0[32..], b.0[32..]);
        assert!(!alice.public().verify(b"pay 2", &a));
        assert!(!bob.public().verify(b"pay 1", &a));
        // A nonce drawn by one key signs for another just as well: it is only randomness.
        let c = bob.sign_prepared(b"pay 1", alice.prepare_nonce());
        assert!(bob.public().verify(b"pay 1", &c));
    }

    #[test]
    fn a_derived_soft_key_signs_with_prepared_nonces() {
        let soft = Keypair::from_uri("//Alice/soft").unwrap();
        let sig = soft.sign_prepared(b"m", soft.prepare_nonce());
        assert!(soft.public().verify(b"m", &sig));
    }

    #[test]
    fn the_debug_form_hides_the_secret() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let nonce = alice.prepare_nonce();
        let shown = format!("{nonce:?}");
        assert!(shown.contains("r redacted"));
        assert!(!shown.contains(&hex::encode(nonce.r.as_bytes())));
    }
}
