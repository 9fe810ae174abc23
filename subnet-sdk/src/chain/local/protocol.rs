//! The local chain's own extrinsic protocol, spoken in process by [`LocalChain`] and over
//! JSON-RPC by [`NodeClient`]: [`LocalChainApi`] is what both offer beyond [`Chain`], and the
//! functions below build every [`Chain`] write call on it, so the two implement the seam the
//! same way.
//!
//! [`LocalChain`]: super::LocalChain
//! [`NodeClient`]: crate::chain::NodeClient
//! [`Chain`]: crate::chain::Chain

use std::net::IpAddr;

use async_trait::async_trait;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Hotkey, NetUid, Uid};

use super::extrinsic::{Call, Extrinsic};
use super::records::{AccountInfo, BlockRecord, CommitStatus, Event, Receipt};
use super::rules::commit_hash;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::hyperparameter::Hyperparameter;
use crate::chain::types::{
    Inclusion, MechanismId, PendingReveal, Reveal, RevealStatus, Weights, WeightsOutcome,
};

/// How many times a write call re-signs after losing a nonce race with a concurrent call from
/// the same account.
const NONCE_RETRIES: usize = 4;

/// Salt words hashed into a weights commit.
const SALT_WORDS: usize = 8;

/// What the local chain offers beyond [`crate::chain::Chain`]: its blocks with their events,
/// receipts, accounts with nonces, and signed extrinsics of its own format.
#[async_trait]
pub trait LocalChainApi: Send + Sync {
    /// The hash of block 0; extrinsics are signed for it.
    fn genesis_hash(&self) -> H256;

    /// A committed block with its extrinsics, their outcomes and its events.
    async fn block(&self, number: Block) -> Result<BlockRecord, ChainError>;

    /// Where an extrinsic was included and how it went; `None` if it never was.
    async fn receipt(&self, extrinsic: H256) -> Result<Option<Receipt>, ChainError>;

    /// An account's free balance and nonce.
    async fn account(&self, account: &AccountId) -> Result<AccountInfo, ChainError>;

    /// The nonce the account's next extrinsic must carry (counting those waiting for a block).
    async fn next_nonce(&self, account: &AccountId) -> Result<u64, ChainError>;

    /// Where the weights commit `hash` by `hotkey` on `netuid` stands.
    async fn commit_status(
        &self,
        netuid: NetUid,
        hotkey: &Hotkey,
        hash: H256,
    ) -> Result<CommitStatus, ChainError>;

    /// Submits a signed extrinsic and waits for its block. A refusal (bad signature, stale
    /// nonce, ...) is an `Err`; an included extrinsic gives its receipt, whose `error` says
    /// whether it broke a rule.
    async fn submit(&self, extrinsic: Extrinsic) -> Result<Receipt, ChainError>;

    /// Signs `call` with `signer` at its next nonce, submits it and waits for its block;
    /// returns the receipt, or the rule the call broke.
    async fn sign_and_submit(&self, signer: &Keypair, call: Call) -> Result<Receipt, ChainError> {
        let genesis = self.genesis_hash();
        let account = signer.public();
        let mut attempt = 0;
        loop {
            let nonce = self.next_nonce(&account).await?;
            let xt = Extrinsic::sign(signer, nonce, call.clone(), &genesis);
            match self.submit(xt).await {
                Err(ChainError::StaleNonce { .. }) if attempt < NONCE_RETRIES => attempt += 1,
                Err(e) => return Err(e),
                Ok(receipt) => return receipt.into_result(),
            }
        }
    }
}

/// The first event of a receipt that `pick` recognises, or an error naming what was missing.
fn find_event<T>(
    receipt: &Receipt,
    what: &str,
    pick: impl Fn(&Event) -> Option<T>,
) -> Result<T, ChainError> {
    receipt
        .events
        .iter()
        .find_map(pick)
        .ok_or_else(|| ChainError::Connection {
            message: format!("the block has no {what} event"),
        })
}

async fn included<C: LocalChainApi + ?Sized>(
    chain: &C,
    signer: &Keypair,
    call: Call,
) -> Result<Inclusion, ChainError> {
    Ok(chain.sign_and_submit(signer, call).await?.inclusion())
}

pub(crate) async fn transfer<C: LocalChainApi + ?Sized>(
    chain: &C,
    from: &Keypair,
    to: &AccountId,
    amount: Balance,
) -> Result<Inclusion, ChainError> {
    included(chain, from, Call::Transfer { dest: *to, amount }).await
}

pub(crate) async fn create_subnet<C: LocalChainApi + ?Sized>(
    chain: &C,
    owner: &Keypair,
    hotkey: &Hotkey,
) -> Result<NetUid, ChainError> {
    let receipt = chain
        .sign_and_submit(owner, Call::CreateSubnet { hotkey: *hotkey })
        .await?;
    find_event(&receipt, "SubnetCreated", |e| match e {
        Event::SubnetCreated { netuid, .. } => Some(*netuid),
        _ => None,
    })
}

pub(crate) async fn set_hyperparameter<C: LocalChainApi + ?Sized>(
    chain: &C,
    owner: &Keypair,
    netuid: NetUid,
    name: Hyperparameter,
    value: i64,
) -> Result<Inclusion, ChainError> {
    let call = Call::SetHyperparameter {
        netuid,
        name,
        value,
    };
    included(chain, owner, call).await
}

pub(crate) async fn register<C: LocalChainApi + ?Sized>(
    chain: &C,
    coldkey: &Keypair,
    netuid: NetUid,
    hotkey: &Hotkey,
) -> Result<Uid, ChainError> {
    let call = Call::BurnedRegister {
        netuid,
        hotkey: *hotkey,
    };
    let receipt = chain.sign_and_submit(coldkey, call).await?;
    find_event(&receipt, "NeuronRegistered", |e| match e {
        Event::NeuronRegistered { uid, .. } => Some(*uid),
        _ => None,
    })
}

pub(crate) async fn serve_axon<C: LocalChainApi + ?Sized>(
    chain: &C,
    hotkey: &Keypair,
    netuid: NetUid,
    axon: &AxonInfo,
) -> Result<Inclusion, ChainError> {
    let ip_type = match axon.ip {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    };
    let call = Call::ServeAxon {
        netuid,
        version: axon.version,
        ip: axon.ip_u128(),
        port: axon.port,
        ip_type,
        protocol: axon.protocol.0,
        placeholder1: axon.placeholder1,
        placeholder2: axon.placeholder2,
    };
    included(chain, hotkey, call).await
}

pub(crate) async fn add_stake<C: LocalChainApi + ?Sized>(
    chain: &C,
    coldkey: &Keypair,
    hotkey: &Hotkey,
    netuid: NetUid,
    amount: Balance,
) -> Result<Inclusion, ChainError> {
    let call = Call::AddStake {
        hotkey: *hotkey,
        netuid,
        amount,
    };
    included(chain, coldkey, call).await
}

pub(crate) async fn remove_stake<C: LocalChainApi + ?Sized>(
    chain: &C,
    coldkey: &Keypair,
    hotkey: &Hotkey,
    netuid: NetUid,
    amount: Balance,
) -> Result<Inclusion, ChainError> {
    let call = Call::RemoveStake {
        hotkey: *hotkey,
        netuid,
        amount,
    };
    included(chain, coldkey, call).await
}

/// Sets weights, or commits a salted hash of them when the subnet uses commit-reveal: the
/// local chain decides which from its own hyperparameters, as the real chain does.
pub(crate) async fn set_weights<C: LocalChainApi + ?Sized>(
    chain: &C,
    commit_reveal: bool,
    hotkey: &Keypair,
    netuid: NetUid,
    weights: &Weights,
) -> Result<WeightsOutcome, ChainError> {
    if weights.mechanism != MechanismId::default() {
        return Err(ChainError::MechanismNotExists {
            netuid,
            mechanism: weights.mechanism.0,
        });
    }
    let uids: Vec<Uid> = weights.uids.iter().map(|&u| Uid(u)).collect();
    if !commit_reveal {
        let call = Call::SetWeights {
            netuid,
            uids,
            weights: weights.values.clone(),
            version_key: weights.version_key,
        };
        return Ok(WeightsOutcome::Set(included(chain, hotkey, call).await?));
    }
    let salt = random_salt()?;
    let commit_hash = commit_hash(
        &hotkey.public(),
        netuid,
        &uids,
        &weights.values,
        &salt,
        weights.version_key,
    );
    let call = Call::CommitWeights {
        netuid,
        commit_hash,
    };
    let inclusion = included(chain, hotkey, call).await?;
    Ok(WeightsOutcome::Committed {
        inclusion,
        reveal: Reveal::Manual(PendingReveal {
            commit_block: inclusion.block,
            uids: weights.uids.clone(),
            values: weights.values.clone(),
            salt,
            version_key: weights.version_key,
        }),
    })
}

/// Reveals a commit once its reveal epoch has come; says when to ask again before that.
pub(crate) async fn reveal_weights<C: LocalChainApi + ?Sized>(
    chain: &C,
    hotkey: &Keypair,
    netuid: NetUid,
    pending: &PendingReveal,
) -> Result<RevealStatus, ChainError> {
    let me = Hotkey(hotkey.public());
    let uids: Vec<Uid> = pending.uids.iter().map(|&u| Uid(u)).collect();
    let hash = commit_hash(
        &me.0,
        netuid,
        &uids,
        &pending.values,
        &pending.salt,
        pending.version_key,
    );
    match chain.commit_status(netuid, &me, hash).await? {
        CommitStatus::Waiting { retry_at, .. } => return Ok(RevealStatus::NotYet { retry_at }),
        CommitStatus::Missing => {
            return Err(ChainError::NoWeightsCommitFound { netuid, hotkey: me });
        }
        CommitStatus::Due => {}
    }
    let call = Call::RevealWeights {
        netuid,
        uids,
        weights: pending.values.clone(),
        salt: pending.salt.clone(),
        version_key: pending.version_key,
    };
    Ok(RevealStatus::Revealed(included(chain, hotkey, call).await?))
}

/// Salt from the operating system's generator, so nobody can guess committed weights.
fn random_salt() -> Result<Vec<u16>, ChainError> {
    let mut bytes = [0u8; 2 * SALT_WORDS];
    getrandom::getrandom(&mut bytes).map_err(|e| ChainError::NoRandomness {
        message: e.to_string(),
    })?;
    Ok(bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}
