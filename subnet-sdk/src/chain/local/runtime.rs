//! The state machine: genesis, checking extrinsics, and applying a block of them. Pure and
//! synchronous: the same state and extrinsics give the same block and digest everywhere.

use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block};

use super::rules::{self, Ctx};
use super::state::State;
use super::storage::Change;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::local::extrinsic::{Extrinsic, MAX_EXTRINSIC_SIZE};
use crate::chain::local::records::{BlockRecord, EventRecord, Header, Phase};
use crate::chain::types::ChainInfo;

/// The dev accounts a `--dev` chain funds, by their secret URIs.
pub const DEV_ACCOUNTS: [&str; 6] = [
    "//Alice",
    "//Bob",
    "//Charlie",
    "//Dave",
    "//Eve",
    "//Ferdie",
];

/// What each dev account starts with: 1,000,000 TAO.
pub const DEV_BALANCE: Balance = Balance::from_tao(1_000_000);

/// The chain's first state: funded accounts and the sudo key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisConfig {
    /// Accounts and their starting free balances.
    pub balances: Vec<(AccountId, Balance)>,
    /// The key that may set any hyperparameter (the chain's `pallet_sudo`).
    pub sudo: Option<AccountId>,
}

impl GenesisConfig {
    /// `//Alice` … `//Ferdie` with [`DEV_BALANCE`] each; `//Alice` is sudo.
    pub fn dev() -> Self {
        let balances: Vec<(AccountId, Balance)> = DEV_ACCOUNTS
            .iter()
            .filter_map(|uri| Keypair::from_uri(uri).ok())
            .map(|k| (k.public(), DEV_BALANCE))
            .collect();
        Self {
            sudo: balances.first().map(|(a, _)| *a),
            balances,
        }
    }
}

/// An extrinsic whose encoding size and signature have been checked, with its hash.
#[derive(Debug, Clone)]
pub struct CheckedExtrinsic {
    xt: Extrinsic,
    hash: H256,
}

/// Signatures verified together in one batch (a bad one sends the batch to one-by-one checks).
const VERIFY_BATCH: usize = 128;

/// The size check and the hash, from one encoding.
fn precheck(xt: &Extrinsic) -> Result<H256, ChainError> {
    let bytes = crate::chain::local::codec::Encode::encode(xt);
    if bytes.len() > MAX_EXTRINSIC_SIZE {
        return Err(ChainError::ExtrinsicTooLarge {
            size: bytes.len(),
            max: MAX_EXTRINSIC_SIZE,
        });
    }
    Ok(H256::of(&bytes))
}

impl CheckedExtrinsic {
    /// Checks the size and the signature for the chain `genesis`.
    pub fn check(xt: Extrinsic, genesis: &H256) -> Result<Self, ChainError> {
        let hash = precheck(&xt)?;
        if !xt.verify(genesis) {
            return Err(ChainError::BadSignature { signer: xt.signer });
        }
        Ok(Self { xt, hash })
    }

    /// Checks many extrinsics, verifying their signatures in batches (about twice as fast as
    /// one by one); the results are in input order.
    pub fn check_many(xts: Vec<Extrinsic>, genesis: &H256) -> Vec<Result<Self, ChainError>> {
        let mut out = Vec::with_capacity(xts.len());
        let mut pending: Vec<(Extrinsic, H256)> = Vec::with_capacity(VERIFY_BATCH);
        let mut slots: Vec<usize> = Vec::with_capacity(VERIFY_BATCH);
        let flush = |pending: &mut Vec<(Extrinsic, H256)>,
                     slots: &mut Vec<usize>,
                     out: &mut Vec<Result<Self, ChainError>>| {
            if pending.is_empty() {
                return;
            }
            let all_good = verify_batch(pending, genesis);
            for ((xt, hash), slot) in pending.drain(..).zip(slots.drain(..)) {
                out[slot] = if all_good || xt.verify(genesis) {
                    Ok(Self { xt, hash })
                } else {
                    Err(ChainError::BadSignature { signer: xt.signer })
                };
            }
        };
        for xt in xts {
            match precheck(&xt) {
                Err(e) => out.push(Err(e)),
                Ok(hash) => {
                    slots.push(out.len());
                    out.push(Err(ChainError::Closed));
                    pending.push((xt, hash));
                    if pending.len() == VERIFY_BATCH {
                        flush(&mut pending, &mut slots, &mut out);
                    }
                }
            }
        }
        flush(&mut pending, &mut slots, &mut out);
        out
    }

    /// The extrinsic.
    pub fn get(&self) -> &Extrinsic {
        &self.xt
    }

    /// The extrinsic's hash.
    pub fn hash(&self) -> H256 {
        self.hash
    }
}

/// Whether every signature of the batch verifies (schnorrkel batch verification).
fn verify_batch(batch: &[(Extrinsic, H256)], genesis: &H256) -> bool {
    let mut keys = Vec::with_capacity(batch.len());
    let mut sigs = Vec::with_capacity(batch.len());
    let mut transcripts = Vec::with_capacity(batch.len());
    let ctx = schnorrkel::signing_context(subforge_core::identity::SIGNING_CONTEXT);
    for (xt, _) in batch {
        let (Ok(key), Ok(sig)) = (
            schnorrkel::PublicKey::from_bytes(&xt.signer.0),
            schnorrkel::Signature::from_bytes(&xt.signature.0),
        ) else {
            return false;
        };
        keys.push(key);
        sigs.push(sig);
        let payload = Extrinsic::payload(genesis, &xt.signer, xt.nonce, &xt.call);
        transcripts.push(ctx.bytes(&payload));
    }
    schnorrkel::verify_batch(transcripts, &sigs, &keys, false).is_ok()
}

/// A block applied to the state, ready for the store.
#[derive(Debug)]
pub(crate) struct AppliedBlock {
    pub(crate) record: BlockRecord,
    /// The hashes of `record.extrinsics`, in order.
    pub(crate) hashes: Vec<H256>,
    pub(crate) changes: Vec<Change>,
    /// Extrinsics left out because their nonce no longer matched, with the error.
    pub(crate) dropped: Vec<(H256, ChainError)>,
}

/// The state machine and the head it stands on.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) state: State,
    pub(crate) genesis_hash: H256,
    pub(crate) head: Header,
}

impl Runtime {
    /// The chain at block 0.
    pub(crate) fn genesis(config: &GenesisConfig) -> (Self, AppliedBlock) {
        let mut state = State::new();
        let mut issuance = Balance::ZERO;
        for (account, balance) in &config.balances {
            if state.credit(account, *balance).is_some() {
                issuance = issuance.saturating_add(*balance);
            }
        }
        {
            let g = state.global_mut();
            g.total_issuance = issuance;
            g.sudo = config.sudo;
        }
        let changes = state.take_changes();
        let header = Header {
            number: Block(0),
            parent_hash: H256::default(),
            state_digest: state.digest(),
            extrinsics_root: H256::of(&[]),
        };
        let hash = header.hash();
        let record = BlockRecord {
            header: header.clone(),
            hash,
            extrinsics: Vec::new(),
            outcomes: Vec::new(),
            events: Vec::new(),
        };
        (
            Self {
                state,
                genesis_hash: hash,
                head: header,
            },
            AppliedBlock {
                record,
                hashes: Vec::new(),
                changes,
                dropped: Vec::new(),
            },
        )
    }

    /// Checks what the pool checks besides the signature: a known signer and the next nonce
    /// (`pending` extrinsics of this signer already wait in the pool).
    pub(crate) fn validate(&self, xt: &Extrinsic, pending: u64) -> Result<(), ChainError> {
        if !self.state.is_known(&xt.signer) {
            return Err(ChainError::UnknownAccount { account: xt.signer });
        }
        let expected = self.state.account(&xt.signer).nonce.saturating_add(pending);
        match xt.nonce.cmp(&expected) {
            core::cmp::Ordering::Less => Err(ChainError::StaleNonce {
                account: xt.signer,
                expected,
                got: xt.nonce,
            }),
            core::cmp::Ordering::Greater => Err(ChainError::FutureNonce {
                account: xt.signer,
                expected,
                got: xt.nonce,
            }),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }

    /// Applies the next block with `extrinsics` (checked, in order).
    pub(crate) fn apply_block(&mut self, extrinsics: Vec<CheckedExtrinsic>) -> AppliedBlock {
        let number = Block(self.head.number.0 + 1);
        let mut events: Vec<EventRecord> = rules::on_initialize(&mut self.state, number)
            .into_iter()
            .map(|event| EventRecord {
                phase: Phase::Initialization,
                event,
            })
            .collect();
        let mut included = Vec::with_capacity(extrinsics.len());
        let mut hashes = Vec::with_capacity(extrinsics.len());
        let mut outcomes = Vec::with_capacity(extrinsics.len());
        let mut dropped = Vec::new();
        for CheckedExtrinsic { xt, hash } in extrinsics {
            if let Err(e) = self.validate(&xt, 0) {
                dropped.push((hash, e));
                continue;
            }
            let index = included.len() as u32;
            let ctx = Ctx {
                block: number,
                signer: xt.signer,
            };
            self.state.begin();
            let outcome = match rules::dispatch(&mut self.state, ctx, &xt.call) {
                Ok(evs) => {
                    self.state.commit();
                    events.extend(evs.into_iter().map(|event| EventRecord {
                        phase: Phase::Extrinsic(index),
                        event,
                    }));
                    None
                }
                Err(e) => {
                    self.state.rollback();
                    Some(e)
                }
            };
            let acc = self.state.accounts.entry_or(&xt.signer, Default::default);
            acc.nonce = acc.nonce.saturating_add(1);
            outcomes.push(outcome);
            included.push(xt);
            hashes.push(hash);
        }
        let changes = self.state.take_changes();
        let mut root = Vec::with_capacity(32 * hashes.len());
        for hash in &hashes {
            root.extend_from_slice(&hash.0);
        }
        let header = Header {
            number,
            parent_hash: self.head.hash(),
            state_digest: self.state.digest(),
            extrinsics_root: H256::of(&root),
        };
        self.head = header.clone();
        AppliedBlock {
            record: BlockRecord {
                hash: header.hash(),
                header,
                extrinsics: included,
                outcomes,
                events,
            },
            hashes,
            changes,
            dropped,
        }
    }

    /// Chain-wide figures at the head.
    pub(crate) fn info(&self) -> ChainInfo {
        let g = self.state.global();
        ChainInfo {
            name: super::CHAIN_NAME.to_owned(),
            spec_version: None,
            genesis_hash: self.genesis_hash,
            best_block: self.head.number,
            best_hash: self.head.hash(),
            total_issuance: g.total_issuance,
            block_emission: Balance::from_rao(subforge_core::consensus::block_emission(
                g.total_issuance.rao(),
            )),
            subnet_lock_cost: rules::lock_cost(&g, Block(self.head.number.0 + 1)),
            sudo: g.sudo,
        }
    }
}
