//! Who is who: sr25519 public keys as SS58 addresses, hotkeys and coldkeys, signatures, and
//! (with the `signing` feature) keypairs, mnemonics and Substrate key derivation.
//!
//! Every signature in Bittensor is sr25519 (schnorrkel) with the signing context `substrate`,
//! and every address is SS58 with prefix 42. Verification builds everywhere, WASM included;
//! generating keys and signing need an OS random source and sit behind the `signing` feature.

pub mod ss58;

#[cfg(feature = "signing")]
mod derive;
#[cfg(feature = "signing")]
mod keypair;
#[cfg(feature = "signing")]
mod mnemonic;
#[cfg(feature = "signing")]
mod prepared;

#[cfg(feature = "signing")]
pub use derive::{DEV_PHRASE, DeriveJunction, SecretUri};
#[cfg(feature = "signing")]
pub use keypair::Keypair;
#[cfg(feature = "signing")]
pub use mnemonic::{Mnemonic, WordCount};
#[cfg(feature = "signing")]
pub use prepared::PreparedNonce;
pub use ss58::{BITTENSOR_PREFIX, Ss58Error};

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The signing context of every sr25519 signature on Substrate chains and in Bittensor.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// Why key material could not be read, made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// An SS58 address was malformed.
    #[error(transparent)]
    Ss58(#[from] Ss58Error),
    /// Hex text did not decode to the expected number of bytes.
    #[error("`{text}` is not {expected} bytes of hex")]
    BadHex {
        /// The offending text (secrets are never echoed; see the callers).
        text: String,
        /// The number of bytes expected.
        expected: usize,
    },
    /// 32 bytes that are not a valid sr25519 public key.
    #[error("0x{} is not a valid sr25519 public key", hex::encode(.0))]
    InvalidPublicKey([u8; 32]),
    /// 64 bytes that are not a valid sr25519 secret key.
    #[error("the secret key bytes are not a valid sr25519 secret key")]
    InvalidSecretKey,
    /// The words are not a BIP-39 English mnemonic.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// A secret URI (`phrase//hard/soft///password`) could not be parsed.
    #[error("invalid secret URI: {0}")]
    InvalidUri(String),
    /// A hex seed in a secret URI had the wrong length.
    #[error("a seed must be 32 bytes of hex after `0x`, got {0} bytes")]
    InvalidSeedLength(usize),
}

/// A 32-byte sr25519 public key: the identity of an account on chain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The raw public-key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses a Bittensor (prefix 42) SS58 address.
    pub fn from_ss58(address: &str) -> Result<Self, Ss58Error> {
        ss58::decode(address, BITTENSOR_PREFIX).map(Self)
    }

    /// The Bittensor (prefix 42) SS58 address of this key.
    pub fn to_ss58(&self) -> String {
        ss58::encode(BITTENSOR_PREFIX, &self.0)
    }

    /// Parses `0x`-prefixed (or bare) hex of 32 bytes.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex_array(text).map(Self)
    }

    /// Checks an sr25519 signature over `message` made by this key (context `substrate`).
    ///
    /// Returns `false` for a signature that does not verify, is malformed, or for a key that
    /// is not a valid curve point; it never panics.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let Ok(public) = schnorrkel::PublicKey::from_bytes(&self.0) else {
            return false;
        };
        let Ok(sig) = schnorrkel::Signature::from_bytes(&signature.0) else {
            return false;
        };
        public.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_ss58())
    }
}

impl FromStr for AccountId {
    type Err = Ss58Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_ss58(s)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_ss58())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_ss58(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for AccountId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ss58Address".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An sr25519 public key as an SS58 address with prefix 42",
            "minLength": 47,
            "maxLength": 48,
        })
    }
}

macro_rules! key_role {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub AccountId);

        impl $name {
            /// Parses a Bittensor (prefix 42) SS58 address.
            pub fn from_ss58(address: &str) -> Result<Self, Ss58Error> {
                AccountId::from_ss58(address).map(Self)
            }
            /// The Bittensor SS58 address.
            pub fn to_ss58(&self) -> String {
                self.0.to_ss58()
            }
            /// The account behind this role.
            pub const fn account(&self) -> &AccountId {
                &self.0
            }
        }

        impl From<AccountId> for $name {
            fn from(a: AccountId) -> Self {
                Self(a)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Ss58Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_ss58(s)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                AccountId::schema_name()
            }
            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                AccountId::json_schema(g)
            }
        }
    };
}

key_role! {
    /// The key a neuron works with: it registers on a subnet, signs requests and sets weights.
    /// Kept unencrypted on the machine that runs the neuron.
    Hotkey
}

key_role! {
    /// The key that owns funds and hotkeys: it pays for registration and holds stake.
    /// Kept encrypted, ideally offline.
    Coldkey
}

/// A 64-byte sr25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// `0x` followed by 128 lowercase hex digits, the form used in HTTP headers.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses 64 bytes of hex; the `0x` prefix is optional.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex_array(text).map(Self)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

pub(crate) fn decode_hex_array<const N: usize>(text: &str) -> Result<[u8; N], KeyError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| KeyError::BadHex {
        text: abbreviate(text),
        expected: N,
    })?;
    Ok(out)
}

fn abbreviate(text: &str) -> String {
    const MAX: usize = 80;
    if text.len() <= MAX {
        text.to_owned()
    } else {
        let cut = (0..=MAX)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &text[..cut])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_serializes_as_ss58() {
        let alice =
            AccountId::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap();
        let json = serde_json::to_string(&Hotkey(alice)).unwrap();
        assert_eq!(json, "\"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"");
        let back: Hotkey = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, alice);
        assert!(serde_json::from_str::<Hotkey>("\"5Grwva\"").is_err());
    }

    #[test]
    fn verify_rejects_garbage_without_panicking() {
        let alice =
            AccountId::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap();
        assert!(!alice.verify(b"hello", &Signature([0u8; 64])));
        assert!(!alice.verify(b"hello", &Signature([0xffu8; 64])));
        // Not a valid Ristretto point.
        assert!(!AccountId([0xffu8; 32]).verify(b"hello", &Signature([0u8; 64])));
    }

    #[test]
    fn signature_hex_round_trip_and_errors() {
        let sig = Signature([7u8; 64]);
        assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
        assert!(matches!(
            Signature::from_hex("0x1234"),
            Err(KeyError::BadHex { expected: 64, .. })
        ));
    }
}
