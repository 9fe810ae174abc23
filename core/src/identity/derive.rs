//! Substrate secret URIs: `phrase//hard/soft///password`, as `subkey`, `sp-core` and
//! `bittensor-wallet` read them.
//!
//! - `phrase` is a BIP-39 mnemonic, or `0x` and 32 bytes of hex (a seed, for which a password is
//!   ignored), or empty, which means the well-known development phrase ([`DEV_PHRASE`]).
//! - Each `//name` is a hard junction and each `/name` a soft one. A name that parses as a `u64`
//!   is encoded as that integer (8 bytes little-endian), otherwise as a SCALE string; the encoding
//!   becomes the 32-byte chain code, hashed with blake2b-256 when longer than 32 bytes.
//! - `///password` salts the mnemonic.

use core::fmt;

use blake2::Blake2b;
use blake2::Digest;
use blake2::digest::consts::U32;
use zeroize::Zeroizing;

use super::KeyError;

/// The development mnemonic behind `//Alice`, `//Bob` and the other dev accounts.
pub const DEV_PHRASE: &str =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// One step of a derivation path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeriveJunction {
    /// `/name`: derivable from the public key alone.
    Soft([u8; 32]),
    /// `//name`: needs the secret key.
    Hard([u8; 32]),
}

impl DeriveJunction {
    /// The junction for a path element (`name` for soft, `/name` for hard).
    pub fn parse(element: &str) -> Self {
        let (code, hard) = match element.strip_prefix('/') {
            Some(rest) => (rest, true),
            None => (element, false),
        };
        let encoded = match code.parse::<u64>() {
            Ok(n) => n.to_le_bytes().to_vec(),
            Err(_) => scale_string(code),
        };
        let mut cc = [0u8; 32];
        if encoded.len() > 32 {
            cc.copy_from_slice(&Blake2b::<U32>::digest(&encoded));
        } else {
            cc[..encoded.len()].copy_from_slice(&encoded);
        }
        if hard { Self::Hard(cc) } else { Self::Soft(cc) }
    }

    /// The 32-byte chain code.
    pub const fn chain_code(&self) -> &[u8; 32] {
        match self {
            Self::Soft(cc) | Self::Hard(cc) => cc,
        }
    }

    /// Whether this is a hard junction.
    pub const fn is_hard(&self) -> bool {
        matches!(self, Self::Hard(_))
    }
}

impl fmt::Debug for DeriveJunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_hard() { "Hard" } else { "Soft" };
        write!(f, "{kind}(0x{})", hex::encode(self.chain_code()))
    }
}

/// SCALE encoding of a string: compact length, then the UTF-8 bytes.
fn scale_string(s: &str) -> Vec<u8> {
    let mut out = compact_len(s.len());
    out.extend_from_slice(s.as_bytes());
    out
}

/// SCALE compact encoding of a length.
fn compact_len(n: usize) -> Vec<u8> {
    let n = n as u64;
    if n < 1 << 6 {
        vec![(n as u8) << 2]
    } else if n < 1 << 14 {
        (((n as u16) << 2) | 0b01).to_le_bytes().to_vec()
    } else if n < 1 << 30 {
        (((n as u32) << 2) | 0b10).to_le_bytes().to_vec()
    } else {
        let bytes = n.to_le_bytes();
        let len = 8 - (n.leading_zeros() / 8) as usize;
        let mut out = vec![(((len - 4) as u8) << 2) | 0b11];
        out.extend_from_slice(&bytes[..len]);
        out
    }
}

/// A parsed secret URI. The phrase and password are zeroed on drop.
#[derive(Clone)]
pub struct SecretUri {
    /// The mnemonic or `0x` hex seed (the development phrase when the URI had none).
    pub phrase: Zeroizing<String>,
    /// The derivation path, in order.
    pub junctions: Vec<DeriveJunction>,
    /// The mnemonic password, if the URI ended in `///password`.
    pub password: Option<Zeroizing<String>>,
}

impl SecretUri {
    /// Parses `phrase//hard/soft///password`; every part is optional.
    pub fn parse(uri: &str) -> Result<Self, KeyError> {
        let (head, password) = match uri.find("///") {
            Some(i) => (&uri[..i], Some(Zeroizing::new(uri[i + 3..].to_owned()))),
            None => (uri, None),
        };
        let phrase_end = head
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ' '))
            .unwrap_or(head.len());
        let (phrase, mut path) = head.split_at(phrase_end);
        let mut junctions = Vec::new();
        while !path.is_empty() {
            let Some(rest) = path.strip_prefix('/') else {
                return Err(KeyError::InvalidUri(
                    "a phrase may hold only letters, digits and spaces, followed by `/` junctions"
                        .to_owned(),
                ));
            };
            let (hard, rest) = match rest.strip_prefix('/') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let end = rest.find('/').unwrap_or(rest.len());
            if end == 0 {
                return Err(KeyError::InvalidUri("empty derivation junction".to_owned()));
            }
            let name = &rest[..end];
            junctions.push(if hard {
                DeriveJunction::parse(&format!("/{name}"))
            } else {
                DeriveJunction::parse(name)
            });
            path = &rest[end..];
        }
        let phrase = if phrase.is_empty() {
            DEV_PHRASE
        } else {
            phrase
        };
        Ok(Self {
            phrase: Zeroizing::new(phrase.to_owned()),
            junctions,
            password,
        })
    }
}

impl fmt::Debug for SecretUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretUri")
            .field("phrase", &"<redacted>")
            .field("junctions", &self.junctions)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_junctions_are_u64_little_endian() {
        let j = DeriveJunction::parse("/1");
        assert!(j.is_hard());
        let mut cc = [0u8; 32];
        cc[0] = 1;
        assert_eq!(j.chain_code(), &cc);
    }

    #[test]
    fn name_junctions_are_scale_strings() {
        let j = DeriveJunction::parse("Alice");
        let mut cc = [0u8; 32];
        cc[0] = 5 << 2;
        cc[1..6].copy_from_slice(b"Alice");
        assert_eq!(j, DeriveJunction::Soft(cc));
    }

    #[test]
    fn long_names_are_hashed() {
        let long = "a".repeat(40);
        let j = DeriveJunction::parse(&long);
        let mut enc = vec![40u8 << 2];
        enc.extend_from_slice(long.as_bytes());
        assert_eq!(j.chain_code()[..], Blake2b::<U32>::digest(&enc)[..]);
    }

    #[test]
    fn compact_lengths() {
        assert_eq!(compact_len(0), vec![0]);
        assert_eq!(compact_len(63), vec![252]);
        assert_eq!(compact_len(64), vec![0x01, 0x01]);
        assert_eq!(compact_len(16383), vec![0xfd, 0xff]);
        assert_eq!(compact_len(16384), vec![0x02, 0x00, 0x01, 0x00]);
        assert_eq!(compact_len(1 << 30), vec![0x03, 0x00, 0x00, 0x00, 0x40]);
    }

    #[test]
    fn uri_parts() {
        let u = SecretUri::parse("//Alice").unwrap();
        assert_eq!(&*u.phrase, DEV_PHRASE);
        assert_eq!(u.junctions, vec![DeriveJunction::parse("/Alice")]);
        assert!(u.password.is_none());

        let u = SecretUri::parse("hello world/soft//hard///pass/word").unwrap();
        assert_eq!(&*u.phrase, "hello world");
        assert_eq!(u.junctions.len(), 2);
        assert!(!u.junctions[0].is_hard());
        assert!(u.junctions[1].is_hard());
        assert_eq!(u.password.as_deref().map(String::as_str), Some("pass/word"));

        assert!(SecretUri::parse("bad-phrase//x").is_err());
        assert!(SecretUri::parse("//a//").is_err());
    }
}
