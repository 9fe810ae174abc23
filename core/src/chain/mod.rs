//! Chain data: the numbers, identities and records a subnet reads from the chain.

mod axon;
mod balance;
mod hyperparameters;
mod metagraph;

pub use axon::{AxonInfo, AxonProtocol, IpType};
pub use balance::{Balance, BalanceError, RAO_PER_TAO};
pub use hyperparameters::Hyperparameters;
pub use metagraph::{Metagraph, MetagraphError, Neuron};

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty), $label:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            Serialize, Deserialize, schemars::JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw number.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.0)
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }
    };
}

id_newtype! {
    /// The number of a subnet on the chain (netuid 0 is the root network).
    NetUid(u16), "NetUid"
}

id_newtype! {
    /// A neuron's slot within one subnet, `0..n`. Not an identity: a slot is reused when its
    /// neuron is pruned, so always pair it with the hotkey it was read with.
    Uid(u16), "Uid"
}

id_newtype! {
    /// A block number (12 s per block on the Bittensor chain).
    Block(u64), "Block"
}

impl Uid {
    /// The uid as an index into the metagraph's arrays.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl Block {
    /// `self + blocks`, saturating.
    pub const fn saturating_add(self, blocks: u64) -> Self {
        Self(self.0.saturating_add(blocks))
    }

    /// Blocks from `earlier` to `self`, zero if `earlier` is later.
    pub const fn since(self, earlier: Block) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// A proportion in `[0, 1]` stored as the chain stores it: a `u16` out of 65535.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct U16Proportion(pub u16);

impl U16Proportion {
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// One (65535).
    pub const ONE: Self = Self(u16::MAX);

    /// The proportion as a float in `[0, 1]`.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(u16::MAX)
    }
}

impl fmt::Debug for U16Proportion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/65535", self.0)
    }
}

impl fmt::Display for U16Proportion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4}", self.as_f64())
    }
}
