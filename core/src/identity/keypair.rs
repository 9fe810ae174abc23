//! sr25519 keypairs: from a mnemonic, a seed, secret-key bytes or a secret URI, with
//! Substrate's hard and soft derivation.

use core::fmt;

use schnorrkel::derive::{ChainCode, Derivation};
use schnorrkel::{ExpansionMode, MiniSecretKey, SecretKey};
use zeroize::Zeroizing;

use super::derive::{DeriveJunction, SecretUri};
use super::mnemonic::{Mnemonic, WordCount};
use super::{AccountId, KeyError, SIGNING_CONTEXT, Signature, decode_hex_array};

/// An sr25519 keypair, with the seed and phrase it came from when known.
///
/// The seed (the 32-byte mini secret) is kept only while it still determines the key: a soft
/// derivation step drops it, as Substrate does.
#[derive(Clone)]
pub struct Keypair {
    pair: schnorrkel::Keypair,
    seed: Option<Zeroizing<[u8; 32]>>,
    phrase: Option<Zeroizing<String>>,
}

impl Keypair {
    /// Generates a fresh keypair and the mnemonic that restores it.
    pub fn generate(words: WordCount) -> (Self, Mnemonic) {
        let mnemonic = Mnemonic::generate(words);
        (Self::from_mnemonic(&mnemonic, ""), mnemonic)
    }

    /// The keypair of a mnemonic and password (empty for none), by Substrate's rule.
    pub fn from_mnemonic(mnemonic: &Mnemonic, password: &str) -> Self {
        let seed = mnemonic.mini_secret(password);
        let mut kp = Self::from_seed(&seed);
        kp.phrase = Some(mnemonic.phrase());
        kp
    }

    /// Parses `phrase` as a mnemonic and returns its keypair (no password).
    pub fn from_phrase(phrase: &str) -> Result<Self, KeyError> {
        Ok(Self::from_mnemonic(&Mnemonic::parse(phrase)?, ""))
    }

    /// The keypair of a 32-byte seed (mini secret key), expanded the way Substrate does.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = MiniSecretKey::from_bytes(seed)
            .unwrap_or_else(|_| unreachable!("every 32-byte string is a mini secret key"));
        Self {
            pair: mini.expand_to_keypair(ExpansionMode::Ed25519),
            seed: Some(Zeroizing::new(*seed)),
            phrase: None,
        }
    }

    /// The keypair of a `0x`-hex seed.
    pub fn from_seed_hex(text: &str) -> Result<Self, KeyError> {
        let seed = Zeroizing::new(decode_hex_array::<32>(text).map_err(redact)?);
        Ok(Self::from_seed(&seed))
    }

    /// The keypair of 64 secret-key bytes in schnorrkel's canonical form (scalar ‖ nonce), the
    /// `privateKey` of a keyfile.
    pub fn from_secret_key_bytes(bytes: &[u8; 64]) -> Result<Self, KeyError> {
        let secret = SecretKey::from_bytes(bytes).map_err(|_| KeyError::InvalidSecretKey)?;
        Ok(Self {
            pair: secret.to_keypair(),
            seed: None,
            phrase: None,
        })
    }

    /// The keypair of a `0x`-hex `privateKey`.
    pub fn from_secret_key_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(decode_hex_array::<64>(text).map_err(redact)?);
        Self::from_secret_key_bytes(&bytes)
    }

    /// The keypair of a secret URI such as `//Alice` or `word … word//hard/soft///password`.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let uri = SecretUri::parse(uri)?;
        let root = match uri.phrase.strip_prefix("0x") {
            Some(hex_seed) => {
                let bytes = Zeroizing::new(
                    hex::decode(hex_seed)
                        .map_err(|_| KeyError::InvalidUri("the seed is not hex".to_owned()))?,
                );
                let seed: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::InvalidSeedLength(bytes.len()))?;
                Self::from_seed(&seed)
            }
            None => {
                let mnemonic = Mnemonic::parse(&uri.phrase)?;
                let password = uri.password.as_deref().map_or("", String::as_str);
                let mut kp = Self::from_mnemonic(&mnemonic, password);
                if !uri.junctions.is_empty() {
                    kp.phrase = None;
                }
                kp
            }
        };
        Ok(root.derive(&uri.junctions))
    }

    /// Derives along `path` (hard and soft junctions), as Substrate does.
    pub fn derive(&self, path: &[DeriveJunction]) -> Self {
        let mut secret = self.pair.secret.clone();
        let mut seed = self.seed.clone();
        for junction in path {
            match junction {
                DeriveJunction::Soft(cc) => {
                    secret = secret.derived_key_simple(ChainCode(*cc), b"").0;
                    seed = None;
                }
                DeriveJunction::Hard(cc) => {
                    let mini = secret
                        .hard_derive_mini_secret_key(Some(ChainCode(*cc)), b"")
                        .0;
                    secret = mini.expand(ExpansionMode::Ed25519);
                    seed = seed.map(|_| Zeroizing::new(mini.to_bytes()));
                }
            }
        }
        let phrase = if path.is_empty() {
            self.phrase.clone()
        } else {
            None
        };
        Self {
            pair: secret.to_keypair(),
            seed,
            phrase,
        }
    }

    /// The public key.
    pub fn public(&self) -> AccountId {
        AccountId(self.pair.public.to_bytes())
    }

    /// The seed (mini secret key), when it determines this key.
    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_deref()
    }

    /// The mnemonic this key was made from, when known.
    pub fn phrase(&self) -> Option<&str> {
        self.phrase.as_deref().map(String::as_str)
    }

    /// The 64 canonical secret-key bytes (scalar ‖ nonce), as a keyfile's `privateKey`.
    pub fn secret_key_bytes(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.pair.secret.to_bytes())
    }

    /// The schnorrkel keypair underneath.
    pub(super) fn schnorrkel(&self) -> &schnorrkel::Keypair {
        &self.pair
    }

    /// Signs `message` with the signing context `substrate`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.pair.sign_simple(SIGNING_CONTEXT, message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret redacted)", self.public())
    }
}

/// Hex errors about secrets must not echo the secret.
fn redact(e: KeyError) -> KeyError {
    match e {
        KeyError::BadHex { expected, .. } => KeyError::BadHex {
            text: "<secret>".to_owned(),
            expected,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DEV_PHRASE;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    #[test]
    fn dev_accounts_have_their_well_known_addresses() {
        assert_eq!(
            Keypair::from_uri("//Alice").unwrap().public().to_ss58(),
            ALICE
        );
        assert_eq!(Keypair::from_uri("//Bob").unwrap().public().to_ss58(), BOB);
        let explicit = format!("{DEV_PHRASE}//Alice");
        assert_eq!(
            Keypair::from_uri(&explicit).unwrap().public().to_ss58(),
            ALICE
        );
    }

    #[test]
    fn signatures_verify_and_bind_the_message() {
        let kp = Keypair::from_uri("//Alice").unwrap();
        let sig = kp.sign(b"hello");
        assert!(kp.public().verify(b"hello", &sig));
        assert!(!kp.public().verify(b"hellO", &sig));
        let bob = Keypair::from_uri("//Bob").unwrap();
        assert!(!bob.public().verify(b"hello", &sig));
    }

    #[test]
    fn secret_key_bytes_round_trip() {
        let kp = Keypair::from_uri("//Alice").unwrap();
        let again = Keypair::from_secret_key_bytes(&kp.secret_key_bytes()).unwrap();
        assert_eq!(again.public(), kp.public());
        assert!(kp.public().verify(b"x", &again.sign(b"x")));
    }

    #[test]
    fn seeds_follow_hard_derivation_and_vanish_on_soft() {
        let root = Keypair::from_phrase(DEV_PHRASE).unwrap();
        assert!(root.seed().is_some());
        assert_eq!(root.phrase(), Some(DEV_PHRASE));
        let hard = Keypair::from_uri("//Alice").unwrap();
        let hard_seed = *hard.seed().unwrap();
        assert_eq!(Keypair::from_seed(&hard_seed).public(), hard.public());
        assert!(hard.phrase().is_none());
        assert!(Keypair::from_uri("//Alice/soft").unwrap().seed().is_none());
    }

    #[test]
    fn hex_seed_uris() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let seed_hex = format!("0x{}", hex::encode(alice.seed().unwrap()));
        assert_eq!(
            Keypair::from_uri(&seed_hex).unwrap().public(),
            alice.public()
        );
        assert!(matches!(
            Keypair::from_uri("0x1234"),
            Err(KeyError::InvalidSeedLength(2))
        ));
    }

    #[test]
    fn secret_errors_do_not_echo_the_secret() {
        let err = Keypair::from_seed_hex("0xdeadbeefnothex").unwrap_err();
        assert!(!err.to_string().contains("deadbeef"), "{err}");
    }
}
