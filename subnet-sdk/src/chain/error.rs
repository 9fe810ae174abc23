//! Every way a chain call can fail, each variant named after the rule it broke.

use serde::{Deserialize, Serialize};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Hotkey, NetUid, Uid};

/// Why a chain call failed.
///
/// Three families:
/// - **refusals** ([`ChainError::is_refusal`]): the extrinsic was not accepted into a block at all
///   (bad signature, stale nonce, unknown account, malformed or oversized) and changed nothing;
/// - **rule errors**: the extrinsic was included, failed the named rule, and changed nothing but
///   its signer's nonce (as on a Substrate chain);
/// - **transport and store errors**: the chain could not be reached or could not persist.
///
/// Serialized with a `"error"` tag, so a [`crate::chain::NodeClient`] returns the same variant
/// the node's runtime produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error")]
#[non_exhaustive]
pub enum ChainError {
    // ---- refusals --------------------------------------------------------------------------
    /// The signature does not verify for the signer over the extrinsic's payload.
    #[error("bad signature: the extrinsic is not signed by {signer}")]
    BadSignature {
        /// The claimed signer.
        signer: AccountId,
    },
    /// The nonce was already used (a replay, or a lost race with another submission).
    #[error("stale nonce {got} for {account}: the next nonce is {expected}")]
    StaleNonce {
        /// The signer.
        account: AccountId,
        /// The nonce the chain expects next.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// The nonce skips ahead; the chain does not hold gaps.
    #[error("future nonce {got} for {account}: the next nonce is {expected}")]
    FutureNonce {
        /// The signer.
        account: AccountId,
        /// The nonce the chain expects next.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// The signer has no balance, no nonce and is no registered hotkey.
    #[error("unknown account {account}: it has no balance and owns no hotkey")]
    UnknownAccount {
        /// The signer.
        account: AccountId,
    },
    /// The encoded extrinsic is larger than the chain accepts.
    #[error("the extrinsic is {size} bytes; at most {max} are accepted")]
    ExtrinsicTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an extrinsic.
    #[error("malformed extrinsic: {reason}")]
    MalformedExtrinsic {
        /// What was wrong.
        reason: String,
    },
    /// The pool of waiting extrinsics is full.
    #[error("the extrinsic pool is full ({capacity} waiting)")]
    PoolFull {
        /// Its capacity.
        capacity: usize,
    },

    // ---- balances --------------------------------------------------------------------------
    /// The account cannot pay the amount.
    #[error("{account} has {balance}, needs {needed}")]
    InsufficientBalance {
        /// The payer.
        account: AccountId,
        /// Its free balance.
        balance: Balance,
        /// What was needed.
        needed: Balance,
    },
    /// Crediting the amount would overflow a balance or the total issuance.
    #[error("arithmetic overflow in {what}")]
    ArithmeticOverflow {
        /// Which quantity would overflow.
        what: String,
    },
    /// A transfer or stake of zero.
    #[error("the amount must be more than zero")]
    ZeroAmount,

    // ---- subnets ---------------------------------------------------------------------------
    /// No subnet has this netuid.
    #[error("subnet {netuid} does not exist")]
    SubnetNotExists {
        /// The netuid.
        netuid: NetUid,
    },
    /// The coldkey cannot pay the subnet lock cost.
    #[error("creating a subnet locks {lock_cost}, but {account} has {balance}")]
    NotEnoughBalanceToCreateSubnet {
        /// The coldkey.
        account: AccountId,
        /// Its free balance.
        balance: Balance,
        /// The lock cost now.
        lock_cost: Balance,
    },
    /// Every netuid is taken.
    #[error("no more subnets can be created (at most {max})")]
    SubnetLimitReached {
        /// The limit.
        max: u16,
    },
    /// The call needs the subnet owner's coldkey (or the sudo key).
    #[error("{account} is not the owner of subnet {netuid}")]
    NotSubnetOwner {
        /// The subnet.
        netuid: NetUid,
        /// The signer.
        account: AccountId,
    },
    /// The call needs the sudo key.
    #[error("{account} is not the sudo key")]
    NotSudo {
        /// The signer.
        account: AccountId,
    },
    /// The hyperparameter may be set by the sudo key only.
    #[error("hyperparameter `{name}` may be set by the sudo key only")]
    RootOnlyHyperparameter {
        /// The hyperparameter.
        name: String,
    },
    /// The value is outside the bounds the signer may set.
    #[error("hyperparameter `{name}` = {value} is outside [{min}, {max}]")]
    HyperparameterOutOfBounds {
        /// The hyperparameter.
        name: String,
        /// The value given.
        value: i128,
        /// Lowest allowed.
        min: i128,
        /// Highest allowed.
        max: i128,
    },

    // ---- registration ----------------------------------------------------------------------
    /// The subnet does not accept registrations.
    #[error("registration is disabled on subnet {netuid}")]
    SubnetRegistrationDisabled {
        /// The subnet.
        netuid: NetUid,
    },
    /// The subnet already took `max_regs_per_block` registrations in this block.
    #[error("subnet {netuid} accepts {max} registrations per block; try the next block")]
    TooManyRegistrationsThisBlock {
        /// The subnet.
        netuid: NetUid,
        /// The limit.
        max: u16,
    },
    /// The hotkey already holds a uid on the subnet.
    #[error("hotkey {hotkey} is already registered on subnet {netuid}")]
    HotkeyAlreadyRegistered {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        hotkey: Hotkey,
    },
    /// The hotkey belongs to another coldkey.
    #[error("hotkey {hotkey} is owned by {owner}")]
    NonAssociatedColdkey {
        /// The hotkey.
        hotkey: Hotkey,
        /// Its owner.
        owner: AccountId,
    },
    /// The coldkey cannot pay the registration burn.
    #[error("registration burns {burn}, but {account} has {balance}")]
    NotEnoughBalanceToRegister {
        /// The coldkey.
        account: AccountId,
        /// Its free balance.
        balance: Balance,
        /// The price.
        burn: Balance,
    },
    /// The subnet is full and every uid belongs to the owner.
    #[error("subnet {netuid} is full and no uid may be pruned")]
    NoNeuronToPrune {
        /// The subnet.
        netuid: NetUid,
    },
    /// The hotkey holds no uid on the subnet.
    #[error("hotkey {hotkey} is not registered on subnet {netuid}")]
    NotRegistered {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        hotkey: Hotkey,
    },

    // ---- serving ---------------------------------------------------------------------------
    /// `serving_rate_limit` blocks have not passed since the last `serve_axon`.
    #[error("serving too fast: last served at block {last}, limit {limit} blocks, now {now}")]
    ServingRateLimitExceeded {
        /// Last serve.
        last: Block,
        /// The current block.
        now: Block,
        /// The limit in blocks.
        limit: u64,
    },
    /// The IP type is neither 4 nor 6.
    #[error("invalid IP type {ip_type} (4 or 6)")]
    InvalidIpType {
        /// The type given.
        ip_type: u8,
    },
    /// The address is unspecified, broadcast, or does not fit its type.
    #[error("invalid IP address {ip}")]
    InvalidIpAddress {
        /// The address, as the chain's u128.
        ip: u128,
    },
    /// Port 0.
    #[error("invalid port 0")]
    InvalidPort,

    // ---- staking ---------------------------------------------------------------------------
    /// The hotkey has never been registered, so it has no owner to pay takes to.
    #[error("hotkey {hotkey} does not exist (it was never registered)")]
    HotkeyNotExists {
        /// The hotkey.
        hotkey: Hotkey,
    },
    /// The coldkey cannot pay the stake.
    #[error("staking {amount} needs that much free balance, but {account} has {balance}")]
    NotEnoughBalanceToStake {
        /// The coldkey.
        account: AccountId,
        /// Its free balance.
        balance: Balance,
        /// The amount.
        amount: Balance,
    },
    /// Below the smallest stake the chain accepts.
    #[error("stake {amount} is below the minimum {min}")]
    StakeAmountTooLow {
        /// The amount.
        amount: Balance,
        /// The minimum.
        min: Balance,
    },
    /// The coldkey has less stake on the hotkey than it tries to remove.
    #[error("cannot unstake {amount}: the stake is {stake}")]
    NotEnoughStakeToWithdraw {
        /// Current stake.
        stake: Balance,
        /// The amount.
        amount: Balance,
    },

    // ---- weights ---------------------------------------------------------------------------
    /// The subnet uses commit-reveal: commit a hash, then reveal.
    #[error("subnet {netuid} uses commit-reveal: commit and reveal weights instead")]
    CommitRevealEnabled {
        /// The subnet.
        netuid: NetUid,
    },
    /// The subnet does not use commit-reveal.
    #[error("subnet {netuid} does not use commit-reveal: set weights directly")]
    CommitRevealDisabled {
        /// The subnet.
        netuid: NetUid,
    },
    /// `uids` and `weights` have different lengths.
    #[error("{uids} uids but {weights} weights")]
    WeightVecLengthMismatch {
        /// Number of uids.
        uids: usize,
        /// Number of weights.
        weights: usize,
    },
    /// Fewer weights than `min_allowed_weights` (and not a lone self-weight).
    #[error("{len} weights, but the subnet needs at least {min}")]
    WeightVecLengthIsLow {
        /// Given.
        len: usize,
        /// Required.
        min: usize,
    },
    /// More weights than the subnet has uids.
    #[error("{len} weights for a subnet of {n} uids")]
    TooManyWeights {
        /// Given.
        len: usize,
        /// Uids in the subnet.
        n: usize,
    },
    /// The hotkey's stake is below the chain's threshold for setting weights.
    #[error("stake {stake} is below the {threshold} needed to set weights")]
    NotEnoughStakeToSetWeights {
        /// The hotkey's stake on the subnet.
        stake: Balance,
        /// The threshold.
        threshold: Balance,
    },
    /// The version key is older than the subnet's `weights_version_key`.
    #[error("weights version key {got} is below the subnet's {required}")]
    IncorrectWeightVersionKey {
        /// Given.
        got: u64,
        /// Required (at least).
        required: u64,
    },
    /// `weights_set_rate_limit` blocks have not passed since the last weights.
    #[error("setting weights too fast: last at block {last}, limit {limit} blocks, now {now}")]
    SettingWeightsTooFast {
        /// Last weights (or registration).
        last: Block,
        /// The current block.
        now: Block,
        /// The limit in blocks.
        limit: u64,
    },
    /// A uid that does not exist on the subnet.
    #[error("uid {uid} does not exist (the subnet has {n} uids)")]
    InvalidUid {
        /// The uid.
        uid: Uid,
        /// Uids in the subnet.
        n: usize,
    },
    /// A uid named twice.
    #[error("uid {uid} appears twice")]
    DuplicateUids {
        /// The uid.
        uid: Uid,
    },
    /// Weights on others need a validator permit.
    #[error("uid {uid} has no validator permit on subnet {netuid}: it may only weight itself")]
    NoValidatorPermit {
        /// The subnet.
        netuid: NetUid,
        /// The uid.
        uid: Uid,
    },
    /// A single weight exceeds `max_weight_limit` after normalisation.
    #[error("a weight exceeds the subnet's max weight limit {limit}/65535")]
    MaxWeightExceeded {
        /// The limit.
        limit: u16,
    },
    /// `weights_set_rate_limit` blocks have not passed since the last commit.
    #[error("committing too fast: last at block {last}, limit {limit} blocks, now {now}")]
    CommittingWeightsTooFast {
        /// Last commit.
        last: Block,
        /// The current block.
        now: Block,
        /// The limit in blocks.
        limit: u64,
    },
    /// The hotkey already has the most unrevealed commits allowed.
    #[error("at most {max} unrevealed commits per hotkey")]
    TooManyUnrevealedCommits {
        /// The limit.
        max: usize,
    },
    /// The hotkey has no live commit on the subnet.
    #[error("no weight commit found for {hotkey} on subnet {netuid}")]
    NoWeightsCommitFound {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        hotkey: Hotkey,
    },
    /// The revealed weights do not hash to any live commit.
    #[error("the revealed weights do not match any commit")]
    InvalidRevealCommitHashNotMatch,
    /// The matching commit cannot be revealed before its reveal epoch.
    #[error(
        "reveal too early: committed in epoch {commit_epoch}, reveal in epoch {reveal_epoch}, now {current}"
    )]
    RevealTooEarly {
        /// The commit's epoch.
        commit_epoch: u64,
        /// When it may be revealed.
        reveal_epoch: u64,
        /// The subnet's epoch now.
        current: u64,
    },
    /// The matching commit's reveal epoch has passed.
    #[error("the commit expired: its reveal epoch {reveal_epoch} has passed (now {current})")]
    ExpiredWeightCommit {
        /// When it had to be revealed.
        reveal_epoch: u64,
        /// The subnet's epoch now.
        current: u64,
    },

    /// The subnet has no such mechanism (sub-subnet).
    #[error("subnet {netuid} has no mechanism {mechanism}")]
    MechanismNotExists {
        /// The subnet.
        netuid: NetUid,
        /// The mechanism asked for.
        mechanism: u8,
    },

    // ---- reading ---------------------------------------------------------------------------
    /// No block with this number exists (yet).
    #[error("block {block} does not exist")]
    UnknownBlock {
        /// The block.
        block: Block,
    },

    // ---- transport and storage -------------------------------------------------------------
    /// The node could not be reached or answered out of protocol.
    #[error("chain connection: {message}")]
    Connection {
        /// What happened.
        message: String,
    },
    /// The node answered with a JSON-RPC error that is not a chain error.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// The JSON-RPC code.
        code: i32,
        /// The message.
        message: String,
    },
    /// The node's answer could not be read as what it should be.
    #[error("cannot read {what} from the chain: {reason}")]
    Decode {
        /// What was being read.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// The chain refused the transaction before inclusion for a reason of its own (the node
    /// rejected it as invalid); nothing changed.
    #[error("the chain refused the transaction: {reason}")]
    InvalidTransaction {
        /// The node's words.
        reason: String,
    },
    /// The transaction was included but failed with an error we have no variant for.
    #[error("the chain rejected the call: {pallet}::{name}")]
    Dispatch {
        /// The pallet that failed it.
        pallet: String,
        /// The pallet's error name.
        name: String,
    },
    /// The connection broke after a transaction was sent: it may or may not be on chain.
    #[error("{reason}")]
    OutcomeUnknown {
        /// What happened.
        reason: String,
    },
    /// This chain (or its runtime version) does not offer what was asked.
    #[error("this chain does not support {what}")]
    Unsupported {
        /// What was asked.
        what: String,
    },
    /// The state store failed; the block was not committed.
    #[error("state store: {message}")]
    Store {
        /// What failed.
        message: String,
    },
    /// The chain was shut down.
    #[error("the chain was shut down")]
    Closed,
    /// The operating system gave no randomness (for a salt or a signature nonce).
    #[error("no randomness from the operating system: {message}")]
    NoRandomness {
        /// What failed.
        message: String,
    },
}

impl ChainError {
    /// Whether the extrinsic was refused before inclusion (it changed nothing at all).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::BadSignature { .. }
                | Self::StaleNonce { .. }
                | Self::FutureNonce { .. }
                | Self::UnknownAccount { .. }
                | Self::ExtrinsicTooLarge { .. }
                | Self::MalformedExtrinsic { .. }
                | Self::PoolFull { .. }
                | Self::InvalidTransaction { .. }
        )
    }

    /// Whether the error comes from the transport or the store rather than the chain's rules.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Connection { .. }
                | Self::Rpc { .. }
                | Self::Store { .. }
                | Self::Closed
                | Self::Decode { .. }
                | Self::OutcomeUnknown { .. }
        )
    }

    /// The first block at which trying again can succeed, for rate limits that say so.
    pub fn retry_at(&self) -> Option<Block> {
        match self {
            Self::SettingWeightsTooFast { last, limit, .. }
            | Self::CommittingWeightsTooFast { last, limit, .. }
            | Self::ServingRateLimitExceeded { last, limit, .. } => {
                Some(last.saturating_add(*limit))
            }
            _ => None,
        }
    }

    /// The variant's name, e.g. `"SettingWeightsTooFast"`.
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_default()
    }
}
