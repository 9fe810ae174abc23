//! SS58 addresses: base58 of `prefix ‖ public key ‖ checksum`, the checksum being the first two
//! bytes of `blake2b-512("SS58PRE" ‖ prefix ‖ public key)`.

use blake2::{Blake2b512, Digest};

/// The address format of Bittensor (and generic Substrate): addresses start with `5`.
pub const BITTENSOR_PREFIX: u16 = 42;

const CHECKSUM_LEN: usize = 2;
const KEY_LEN: usize = 32;
const CONTEXT: &[u8] = b"SS58PRE";

/// Why an SS58 address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    /// The text contains characters outside the base58 alphabet.
    #[error("`{address}` is not an SS58 address: {reason}")]
    NotBase58 {
        /// The offending text.
        address: String,
        /// What the base58 decoder reported.
        reason: String,
    },
    /// The decoded bytes have a length no 32-byte key address can have.
    #[error("`{address}` is not an SS58 address of a 32-byte key (decodes to {len} bytes)")]
    BadLength {
        /// The offending text.
        address: String,
        /// The decoded length.
        len: usize,
    },
    /// The two checksum bytes do not match.
    #[error("`{address}` has a bad SS58 checksum (a typo?)")]
    BadChecksum {
        /// The offending text.
        address: String,
    },
    /// The first byte is a reserved prefix value.
    #[error("`{address}` uses the reserved SS58 prefix byte {byte}")]
    ReservedPrefix {
        /// The offending text.
        address: String,
        /// The first decoded byte.
        byte: u8,
    },
    /// The address is valid for another network.
    #[error("`{address}` is an address of network prefix {found}, expected {expected}")]
    WrongPrefix {
        /// The offending text.
        address: String,
        /// The prefix the address carries.
        found: u16,
        /// The prefix that was required.
        expected: u16,
    },
}

fn checksum(data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut h = Blake2b512::new();
    h.update(CONTEXT);
    h.update(data);
    let out = h.finalize();
    [out[0], out[1]]
}

/// Encodes a 32-byte public key as an SS58 address with `prefix` (0..=16383).
///
/// # Panics
/// If `prefix` is above 16383, the largest value SS58 can carry.
pub fn encode(prefix: u16, key: &[u8; KEY_LEN]) -> String {
    assert!(prefix < 16384, "SS58 prefixes are below 16384");
    let mut data = Vec::with_capacity(2 + KEY_LEN + CHECKSUM_LEN);
    if prefix < 64 {
        data.push(prefix as u8);
    } else {
        // Two-byte form: the 14-bit prefix split across two bytes with the marker bit 0b01.
        let first = ((prefix & 0b1111_1100) >> 2) as u8 | 0b0100_0000;
        let second = ((prefix >> 8) as u8) | (((prefix & 0b11) as u8) << 6);
        data.push(first);
        data.push(second);
    }
    data.extend_from_slice(key);
    let cs = checksum(&data);
    data.extend_from_slice(&cs);
    bs58::encode(data).into_string()
}

/// Decodes an SS58 address of any network into its prefix and 32-byte public key.
pub fn decode_any(address: &str) -> Result<(u16, [u8; KEY_LEN]), Ss58Error> {
    let data = bs58::decode(address)
        .into_vec()
        .map_err(|e| Ss58Error::NotBase58 {
            address: address.to_owned(),
            reason: e.to_string(),
        })?;
    let bad_len = || Ss58Error::BadLength {
        address: address.to_owned(),
        len: data.len(),
    };
    let first = *data.first().ok_or_else(bad_len)?;
    let (prefix, prefix_len) = match first {
        0..=63 => (u16::from(first), 1),
        64..=127 => {
            let second = *data.get(1).ok_or_else(bad_len)?;
            let lower = (first << 2) | (second >> 6);
            let upper = second & 0b0011_1111;
            (u16::from(lower) | (u16::from(upper) << 8), 2)
        }
        _ => {
            return Err(Ss58Error::ReservedPrefix {
                address: address.to_owned(),
                byte: first,
            });
        }
    };
    if data.len() != prefix_len + KEY_LEN + CHECKSUM_LEN {
        return Err(bad_len());
    }
    let body = &data[..prefix_len + KEY_LEN];
    if checksum(body) != data[prefix_len + KEY_LEN..] {
        return Err(Ss58Error::BadChecksum {
            address: address.to_owned(),
        });
    }
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&body[prefix_len..]);
    Ok((prefix, key))
}

/// Decodes an SS58 address that must carry `expected` as its network prefix.
pub fn decode(address: &str, expected: u16) -> Result<[u8; KEY_LEN], Ss58Error> {
    let (found, key) = decode_any(address)?;
    if found != expected {
        return Err(Ss58Error::WrongPrefix {
            address: address.to_owned(),
            found,
            expected,
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public key of `//Alice` and its well-known address.
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_KEY: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    fn alice_key() -> [u8; 32] {
        let mut k = [0u8; 32];
        hex::decode_to_slice(ALICE_KEY, &mut k).unwrap();
        k
    }

    #[test]
    fn encodes_the_alice_address() {
        assert_eq!(encode(BITTENSOR_PREFIX, &alice_key()), ALICE);
    }

    #[test]
    fn decodes_the_alice_address() {
        assert_eq!(decode(ALICE, BITTENSOR_PREFIX).unwrap(), alice_key());
    }

    #[test]
    fn polkadot_and_kusama_forms_of_the_same_key() {
        // Alice on Polkadot (0) and Kusama (2), well-known values.
        assert_eq!(
            encode(0, &alice_key()),
            "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
        );
        assert_eq!(
            encode(2, &alice_key()),
            "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"
        );
        let err = decode("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5", 42).unwrap_err();
        assert!(matches!(
            err,
            Ss58Error::WrongPrefix {
                found: 0,
                expected: 42,
                ..
            }
        ));
    }

    #[test]
    fn two_byte_prefixes_round_trip() {
        for prefix in [64u16, 255, 1000, 16383] {
            let a = encode(prefix, &alice_key());
            assert_eq!(decode_any(&a).unwrap(), (prefix, alice_key()));
        }
    }

    #[test]
    fn rejects_typos_and_garbage() {
        let mut typo = ALICE.to_owned();
        typo.replace_range(10..11, "x");
        assert!(matches!(
            decode(&typo, 42),
            Err(Ss58Error::BadChecksum { .. })
        ));
        assert!(matches!(
            decode("0OIl", 42),
            Err(Ss58Error::NotBase58 { .. })
        ));
        assert!(matches!(
            decode("", 42),
            Err(Ss58Error::BadLength { len: 0, .. })
        ));
        assert!(matches!(
            decode(&ALICE[..40], 42),
            Err(Ss58Error::BadLength { .. })
        ));
    }
}
