//! The chain's canonical binary encoding: what extrinsics are signed over, what the state digest
//! hashes, and what the store keeps.
//!
//! Integers are fixed-width little-endian, lengths are `u32`, `bool` is one byte `0` or `1`,
//! `Option` is a tag byte then the value, enums are a tag byte then their fields. Every value has
//! exactly one encoding, and decoding refuses anything else (bad tags, lengths past the end,
//! trailing bytes), so a hash of an encoding identifies the value.

use std::net::IpAddr;

use subforge_core::chain::{AxonInfo, AxonProtocol};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, NetUid, Signature, Uid};

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("the input ends early: {needed} more bytes needed at offset {offset}")]
    UnexpectedEnd {
        /// Where the value started.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// A tag byte (bool, option, enum) is not one of the allowed values.
    #[error("invalid tag {tag} for {what} at offset {offset}")]
    InvalidTag {
        /// What was being decoded.
        what: &'static str,
        /// The byte found.
        tag: u8,
        /// Where.
        offset: usize,
    },
    /// Bytes remain after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A field holds a value its type forbids (for example an IPv4 address wider than 32 bits).
    #[error("invalid {0}")]
    InvalidValue(&'static str),
}

/// Appends a value's canonical encoding.
pub trait Encode {
    /// Writes the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding as a fresh vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// Reads a value from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `input`, advancing it.
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError>;

    /// Decodes `bytes` as exactly one value.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut input = Input::new(bytes);
        let value = Self::decode_from(&mut input)?;
        if input.remaining() != 0 {
            return Err(DecodeError::TrailingBytes(input.remaining()));
        }
        Ok(value)
    }
}

/// A cursor over bytes being decoded.
#[derive(Debug)]
pub struct Input<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Input<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.offset,
                needed: n - self.remaining(),
            });
        }
        let out = &self.bytes[self.offset..self.offset + n];
        self.offset += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A tag byte below `limit`.
    pub fn tag(&mut self, what: &'static str, limit: u8) -> Result<u8, DecodeError> {
        let offset = self.offset;
        let [tag] = self.array::<1>()?;
        if tag >= limit {
            return Err(DecodeError::InvalidTag { what, tag, offset });
        }
        Ok(tag)
    }

    /// A length prefix, refused if even one-byte elements could not fit in what remains: a
    /// hostile length never makes us allocate.
    fn len(&mut self) -> Result<usize, DecodeError> {
        let offset = self.offset;
        let len = u32::decode_from(self)? as usize;
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                offset,
                needed: len - self.remaining(),
            });
        }
        Ok(len)
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(input.array()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64, u128, i16);

impl<T: Encode + ?Sized> Encode for &T {
    fn encode_to(&self, out: &mut Vec<u8>) {
        (**self).encode_to(out);
    }
}

impl Encode for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok(input.tag("bool", 2)? == 1)
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        input.array()
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_slice().encode_to(out);
    }
}

impl<T: Encode> Encode for [T] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let len = u32::try_from(self.len()).unwrap_or(u32::MAX);
        len.encode_to(out);
        for item in self {
            item.encode_to(out);
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        let len = input.len()?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(T::decode_from(input)?);
        }
        Ok(out)
    }
}

impl Encode for String {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_bytes().to_vec().encode_to(out);
    }
}

impl Decode for String {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        let bytes = Vec::<u8>::decode_from(input)?;
        String::from_utf8(bytes).map_err(|_| DecodeError::InvalidValue("UTF-8 string"))
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode_to(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        match input.tag("option", 2)? {
            0 => Ok(None),
            _ => Ok(Some(T::decode_from(input)?)),
        }
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
        self.1.encode_to(out);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok((A::decode_from(input)?, B::decode_from(input)?))
    }
}

impl<A: Encode, B: Encode, C: Encode> Encode for (A, B, C) {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
        self.1.encode_to(out);
        self.2.encode_to(out);
    }
}

impl<A: Decode, B: Decode, C: Decode> Decode for (A, B, C) {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok((
            A::decode_from(input)?,
            B::decode_from(input)?,
            C::decode_from(input)?,
        ))
    }
}

impl Encode for () {
    fn encode_to(&self, _: &mut Vec<u8>) {}
}

impl Decode for () {
    fn decode_from(_: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

/// Implements [`Encode`] and [`Decode`] for a newtype over an encodable value.
macro_rules! newtype_codec {
    ($($t:ty => $inner:ty, $wrap:expr, $unwrap:expr;)*) => {$(
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                let inner: $inner = ($unwrap)(self);
                inner.encode_to(out);
            }
        }
        impl Decode for $t {
            fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
                Ok(($wrap)(<$inner>::decode_from(input)?))
            }
        }
    )*};
}

newtype_codec! {
    AccountId => [u8; 32], AccountId, |a: &AccountId| a.0;
    Hotkey => AccountId, Hotkey, |h: &Hotkey| h.0;
    Coldkey => AccountId, Coldkey, |c: &Coldkey| c.0;
    Balance => u64, Balance::from_rao, |b: &Balance| b.rao();
    Block => u64, Block, |b: &Block| b.0;
    NetUid => u16, NetUid, |n: &NetUid| n.0;
    Uid => u16, Uid, |u: &Uid| u.0;
    Signature => [u8; 64], Signature, |s: &Signature| s.0;
}

/// Implements [`Encode`] and [`Decode`] for a struct, field by field in the order given.
macro_rules! struct_codec {
    ($t:ty { $($field:ident),* $(,)? }) => {
        impl $crate::chain::local::codec::Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( $crate::chain::local::codec::Encode::encode_to(&self.$field, out); )*
            }
        }
        impl $crate::chain::local::codec::Decode for $t {
            fn decode_from(
                input: &mut $crate::chain::local::codec::Input<'_>,
            ) -> Result<Self, $crate::chain::local::codec::DecodeError> {
                Ok(Self { $( $field: $crate::chain::local::codec::Decode::decode_from(input)?, )* })
            }
        }
    };
}
pub(crate) use struct_codec;

struct_codec!(Hyperparameters {
    tempo,
    kappa,
    rho,
    immunity_period,
    min_allowed_weights,
    max_weight_limit,
    max_allowed_uids,
    max_allowed_validators,
    activity_cutoff_factor_milli,
    weights_version_key,
    weights_set_rate_limit,
    serving_rate_limit,
    bonds_moving_average,
    bonds_penalty,
    yuma3_enabled,
    liquid_alpha_enabled,
    alpha_low,
    alpha_high,
    alpha_sigmoid_steepness,
    commit_reveal_weights_enabled,
    commit_reveal_period,
    registration_allowed,
    max_regs_per_block,
    min_burn,
    max_burn,
    burn_half_life,
    bonds_reset_enabled,
});

impl Encode for AxonInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block.encode_to(out);
        self.version.encode_to(out);
        self.ip_u128().encode_to(out);
        self.ip_type().code().encode_to(out);
        self.port.encode_to(out);
        self.protocol.0.encode_to(out);
        self.placeholder1.encode_to(out);
        self.placeholder2.encode_to(out);
    }
}

impl Decode for AxonInfo {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        let block = Block::decode_from(input)?;
        let version = u32::decode_from(input)?;
        let ip = u128::decode_from(input)?;
        let ip_type = u8::decode_from(input)?;
        let ip: IpAddr =
            AxonInfo::ip_from_chain(ip, ip_type).ok_or(DecodeError::InvalidValue("axon IP"))?;
        Ok(Self {
            block,
            version,
            ip,
            port: u16::decode_from(input)?,
            protocol: AxonProtocol(u8::decode_from(input)?),
            placeholder1: u8::decode_from(input)?,
            placeholder2: u8::decode_from(input)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_non_canonical_input() {
        let v: Vec<(u16, u16)> = vec![(1, 2), (3, 65535)];
        let bytes = v.encode();
        assert_eq!(Vec::<(u16, u16)>::decode(&bytes).unwrap(), v);
        let mut extra = bytes;
        extra.push(0);
        assert_eq!(
            Vec::<(u16, u16)>::decode(&extra),
            Err(DecodeError::TrailingBytes(1))
        );
        assert!(matches!(
            bool::decode(&[2]),
            Err(DecodeError::InvalidTag { what: "bool", .. })
        ));
        // A length claiming four billion elements fails at once, without allocating.
        assert!(matches!(
            Vec::<u64>::decode(&u32::MAX.to_le_bytes()),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        let h = Hyperparameters {
            tempo: 7,
            ..Hyperparameters::default()
        };
        assert_eq!(Hyperparameters::decode(&h.encode()).unwrap(), h);
        let axon = AxonInfo {
            ip: "10.0.0.1".parse().unwrap(),
            port: 8091,
            ..AxonInfo::default()
        };
        assert_eq!(AxonInfo::decode(&axon.encode()).unwrap(), axon);
    }
}
