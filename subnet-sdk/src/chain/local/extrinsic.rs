//! Subforge's extrinsic protocol: calls, and extrinsics signed over them.

use serde::{Deserialize, Serialize};
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Hotkey, NetUid, Signature, Uid};

use super::codec::{Decode, DecodeError, Encode, Input};
use crate::chain::hash::H256;
use crate::chain::hyperparameter::Hyperparameter;

/// Largest encoded extrinsic the chain accepts, in bytes.
pub const MAX_EXTRINSIC_SIZE: usize = 128 * 1024;

/// Domain separator of the signed payload, so a signature over an extrinsic means nothing else.
const PAYLOAD_PREFIX: &[u8] = b"subforge/extrinsic/v1";

impl Encode for H256 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for H256 {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok(Self(<[u8; 32]>::decode_from(input)?))
    }
}

/// What an extrinsic asks the chain to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Move free balance to another account (signed by the payer).
    Transfer {
        /// The recipient.
        dest: AccountId,
        /// The amount.
        amount: Balance,
    },
    /// Create a subnet, locking the network lock cost (signed by the owner's coldkey).
    CreateSubnet {
        /// The owner's hotkey; it takes uid 0 and is never pruned.
        hotkey: Hotkey,
    },
    /// Register `hotkey` on a subnet by burning the registration price (signed by its coldkey).
    BurnedRegister {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey to register.
        hotkey: Hotkey,
    },
    /// Publish where the signing hotkey serves.
    ServeAxon {
        /// The subnet.
        netuid: NetUid,
        /// Software version.
        version: u32,
        /// The IP as the chain stores it.
        ip: u128,
        /// The port.
        port: u16,
        /// 4 or 6.
        ip_type: u8,
        /// The transport.
        protocol: u8,
        /// Reserved.
        placeholder1: u8,
        /// Reserved.
        placeholder2: u8,
    },
    /// Stake free balance onto a hotkey on a subnet (signed by the coldkey).
    AddStake {
        /// The hotkey staked on.
        hotkey: Hotkey,
        /// The subnet.
        netuid: NetUid,
        /// The amount.
        amount: Balance,
    },
    /// Move stake back to free balance (signed by the coldkey).
    RemoveStake {
        /// The hotkey staked on.
        hotkey: Hotkey,
        /// The subnet.
        netuid: NetUid,
        /// The amount.
        amount: Balance,
    },
    /// Set the signing hotkey's weights on a subnet without commit-reveal.
    SetWeights {
        /// The subnet.
        netuid: NetUid,
        /// Target uids, in the order given.
        uids: Vec<Uid>,
        /// Weights, any scale (stored max-upscaled to u16).
        weights: Vec<u16>,
        /// The validator's version key.
        version_key: u64,
    },
    /// Commit the hash of weights to reveal later.
    CommitWeights {
        /// The subnet.
        netuid: NetUid,
        /// The commit hash (`subforge_core::weights` computes it).
        commit_hash: H256,
    },
    /// Reveal committed weights.
    RevealWeights {
        /// The subnet.
        netuid: NetUid,
        /// Target uids.
        uids: Vec<Uid>,
        /// Weights.
        weights: Vec<u16>,
        /// The salt the commit hashed.
        salt: Vec<u16>,
        /// The validator's version key.
        version_key: u64,
    },
    /// Change a subnet setting (signed by the owner's coldkey, or the sudo key).
    SetHyperparameter {
        /// The subnet.
        netuid: NetUid,
        /// Which setting.
        name: Hyperparameter,
        /// The new value (booleans are 0 or 1, balances in rao).
        value: i64,
    },
}

impl Encode for Hyperparameter {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}

impl Decode for Hyperparameter {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        let tag = input.tag("hyperparameter", Self::ALL.len() as u8)?;
        Ok(Self::ALL[usize::from(tag)])
    }
}

impl Encode for Call {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Transfer { dest, amount } => {
                out.push(0);
                (dest, amount).encode_to(out);
            }
            Self::CreateSubnet { hotkey } => {
                out.push(1);
                hotkey.encode_to(out);
            }
            Self::BurnedRegister { netuid, hotkey } => {
                out.push(2);
                (netuid, hotkey).encode_to(out);
            }
            Self::ServeAxon {
                netuid,
                version,
                ip,
                port,
                ip_type,
                protocol,
                placeholder1,
                placeholder2,
            } => {
                out.push(3);
                (netuid, version, ip).encode_to(out);
                (port, ip_type, protocol).encode_to(out);
                (placeholder1, placeholder2).encode_to(out);
            }
            Self::AddStake {
                hotkey,
                netuid,
                amount,
            } => {
                out.push(4);
                (hotkey, netuid, amount).encode_to(out);
            }
            Self::RemoveStake {
                hotkey,
                netuid,
                amount,
            } => {
                out.push(5);
                (hotkey, netuid, amount).encode_to(out);
            }
            Self::SetWeights {
                netuid,
                uids,
                weights,
                version_key,
            } => {
                out.push(6);
                (netuid, uids, weights).encode_to(out);
                version_key.encode_to(out);
            }
            Self::CommitWeights {
                netuid,
                commit_hash,
            } => {
                out.push(7);
                (netuid, commit_hash).encode_to(out);
            }
            Self::RevealWeights {
                netuid,
                uids,
                weights,
                salt,
                version_key,
            } => {
                out.push(8);
                (netuid, uids, weights).encode_to(out);
                (salt, version_key).encode_to(out);
            }
            Self::SetHyperparameter {
                netuid,
                name,
                value,
            } => {
                out.push(9);
                (netuid, name, &value.to_le_bytes()).encode_to(out);
            }
        }
    }
}

impl Decode for Call {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok(match input.tag("call", 10)? {
            0 => Self::Transfer {
                dest: Decode::decode_from(input)?,
                amount: Decode::decode_from(input)?,
            },
            1 => Self::CreateSubnet {
                hotkey: Decode::decode_from(input)?,
            },
            2 => Self::BurnedRegister {
                netuid: Decode::decode_from(input)?,
                hotkey: Decode::decode_from(input)?,
            },
            3 => Self::ServeAxon {
                netuid: Decode::decode_from(input)?,
                version: Decode::decode_from(input)?,
                ip: Decode::decode_from(input)?,
                port: Decode::decode_from(input)?,
                ip_type: Decode::decode_from(input)?,
                protocol: Decode::decode_from(input)?,
                placeholder1: Decode::decode_from(input)?,
                placeholder2: Decode::decode_from(input)?,
            },
            4 => Self::AddStake {
                hotkey: Decode::decode_from(input)?,
                netuid: Decode::decode_from(input)?,
                amount: Decode::decode_from(input)?,
            },
            5 => Self::RemoveStake {
                hotkey: Decode::decode_from(input)?,
                netuid: Decode::decode_from(input)?,
                amount: Decode::decode_from(input)?,
            },
            6 => Self::SetWeights {
                netuid: Decode::decode_from(input)?,
                uids: Decode::decode_from(input)?,
                weights: Decode::decode_from(input)?,
                version_key: Decode::decode_from(input)?,
            },
            7 => Self::CommitWeights {
                netuid: Decode::decode_from(input)?,
                commit_hash: Decode::decode_from(input)?,
            },
            8 => Self::RevealWeights {
                netuid: Decode::decode_from(input)?,
                uids: Decode::decode_from(input)?,
                weights: Decode::decode_from(input)?,
                salt: Decode::decode_from(input)?,
                version_key: Decode::decode_from(input)?,
            },
            _ => Self::SetHyperparameter {
                netuid: Decode::decode_from(input)?,
                name: Decode::decode_from(input)?,
                value: i64::from_le_bytes(<[u8; 8]>::decode_from(input)?),
            },
        })
    }
}

/// A signed call: who, with which nonce, what, and the signature over all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extrinsic {
    /// The signing account.
    pub signer: AccountId,
    /// The signer's nonce: its count of extrinsics already included.
    pub nonce: u64,
    /// What to do.
    pub call: Call,
    /// sr25519 over [`Extrinsic::payload`].
    #[serde(with = "signature_hex")]
    pub signature: Signature,
}

impl Extrinsic {
    /// The bytes a signer signs: a domain tag, the chain's genesis hash (so an extrinsic for
    /// one chain is void on another), the signer, the nonce and the call.
    pub fn payload(genesis: &H256, signer: &AccountId, nonce: u64, call: &Call) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(PAYLOAD_PREFIX);
        genesis.encode_to(&mut out);
        signer.encode_to(&mut out);
        nonce.encode_to(&mut out);
        call.encode_to(&mut out);
        out
    }

    /// Signs `call` with `keypair` at `nonce` for the chain with genesis hash `genesis`.
    pub fn sign(keypair: &Keypair, nonce: u64, call: Call, genesis: &H256) -> Self {
        let signer = keypair.public();
        let signature = keypair.sign(&Self::payload(genesis, &signer, nonce, &call));
        Self {
            signer,
            nonce,
            call,
            signature,
        }
    }

    /// Whether the signature verifies for the signer on the chain `genesis`.
    pub fn verify(&self, genesis: &H256) -> bool {
        let payload = Self::payload(genesis, &self.signer, self.nonce, &self.call);
        self.signer.verify(&payload, &self.signature)
    }

    /// The extrinsic's hash: blake2b-256 of its encoding.
    pub fn hash(&self) -> H256 {
        H256::of(&self.encode())
    }

    /// The encoding as `0x` hex, as `chain_submitExtrinsic` takes it.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.encode()))
    }
}

impl Encode for Extrinsic {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.signer.encode_to(out);
        self.nonce.encode_to(out);
        self.call.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for Extrinsic {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            signer: Decode::decode_from(input)?,
            nonce: Decode::decode_from(input)?,
            call: Decode::decode_from(input)?,
            signature: Decode::decode_from(input)?,
        })
    }
}

/// Signatures as `0x` hex in JSON.
mod signature_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use subforge_core::Signature;

    pub(super) fn serialize<S: Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&sig.to_hex())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let text = String::deserialize(d)?;
        Signature::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_extrinsics_round_trip_and_bind_chain_and_nonce() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let genesis = H256([7; 32]);
        let call = Call::SetWeights {
            netuid: NetUid(1),
            uids: vec![Uid(0), Uid(3)],
            weights: vec![1, 65535],
            version_key: 2,
        };
        let xt = Extrinsic::sign(&alice, 5, call, &genesis);
        assert!(xt.verify(&genesis));
        assert!(!xt.verify(&H256([8; 32])));
        let back = Extrinsic::decode(&xt.encode()).unwrap();
        assert_eq!(back, xt);
        let mut replayed = xt;
        replayed.nonce = 6;
        assert!(!replayed.verify(&genesis));
        for h in Hyperparameter::ALL {
            assert_eq!(h.name().parse::<Hyperparameter>().unwrap(), h);
        }
    }
}
