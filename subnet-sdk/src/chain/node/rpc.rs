//! The JSON-RPC interface of `subforge node`, shared by the server and [`super::NodeClient`]:
//! method names and how chain errors travel as JSON-RPC errors.
//!
//! | method | params | result |
//! |---|---|---|
//! | `chain_info` | | [`ChainInfo`](crate::chain::ChainInfo) |
//! | `chain_getBlock` | block number | [`BlockRecord`](crate::chain::local::BlockRecord) |
//! | `chain_getReceipt` | extrinsic hash (`0x…`) | [`Receipt`](crate::chain::local::Receipt) or `null` |
//! | `chain_getAccount` | SS58 address | [`AccountInfo`](crate::chain::local::AccountInfo) |
//! | `chain_nextNonce` | SS58 address | nonce |
//! | `chain_commitStatus` | netuid, hotkey SS58, commit hash | [`CommitStatus`](crate::chain::local::CommitStatus) |
//! | `chain_subnets` | | [`SubnetInfo`](crate::chain::SubnetInfo) list |
//! | `chain_subnet` | netuid | [`SubnetInfo`](crate::chain::SubnetInfo) |
//! | `chain_metagraph` | netuid | [`subforge_core::Metagraph`] |
//! | `chain_hyperparameters` | netuid | [`subforge_core::Hyperparameters`] |
//! | `chain_stakes` | coldkey SS58 | [`StakeInfo`](crate::chain::StakeInfo) list |
//! | `chain_registrations` | hotkey SS58 | `[netuid, uid]` pairs |
//! | `chain_submitExtrinsic` | encoded extrinsic (`0x…`) | [`Receipt`](crate::chain::local::Receipt), after inclusion |
//! | `chain_subscribeBlocks` | | notifications `chain_block` with a [`Header`](crate::chain::local::Header) |

use serde_json::Value;

use crate::chain::error::ChainError;

/// The port `subforge node` listens on by default (Substrate's).
pub const DEFAULT_RPC_PORT: u16 = 9944;

pub(crate) const INFO: &str = "chain_info";
pub(crate) const GET_BLOCK: &str = "chain_getBlock";
pub(crate) const GET_RECEIPT: &str = "chain_getReceipt";
pub(crate) const GET_ACCOUNT: &str = "chain_getAccount";
pub(crate) const NEXT_NONCE: &str = "chain_nextNonce";
pub(crate) const COMMIT_STATUS: &str = "chain_commitStatus";
pub(crate) const SUBNETS: &str = "chain_subnets";
pub(crate) const SUBNET: &str = "chain_subnet";
pub(crate) const METAGRAPH: &str = "chain_metagraph";
pub(crate) const HYPERPARAMETERS: &str = "chain_hyperparameters";
pub(crate) const STAKES: &str = "chain_stakes";
pub(crate) const REGISTRATIONS: &str = "chain_registrations";
pub(crate) const SUBMIT: &str = "chain_submitExtrinsic";
pub(crate) const SUBSCRIBE_BLOCKS: &str = "chain_subscribeBlocks";
#[cfg(feature = "node")]
pub(crate) const BLOCK_NOTIFICATION: &str = "chain_block";
pub(crate) const UNSUBSCRIBE_BLOCKS: &str = "chain_unsubscribeBlocks";

/// JSON-RPC error code of a refused extrinsic (as Substrate's invalid transaction).
pub const CODE_REFUSED: i32 = 1010;
/// JSON-RPC error code of a rule error or a missing subnet or block.
pub const CODE_RULE: i32 = 1020;
/// JSON-RPC error code of a store failure on the node.
pub const CODE_STORE: i32 = 1030;

/// The JSON-RPC error code for a chain error.
#[cfg(feature = "node")]
pub(crate) fn error_code(e: &ChainError) -> i32 {
    if e.is_refusal() {
        CODE_REFUSED
    } else if matches!(e, ChainError::Store { .. } | ChainError::Closed) {
        CODE_STORE
    } else {
        CODE_RULE
    }
}

/// The chain error a JSON-RPC error carries in its `data`, if any.
pub(crate) fn chain_error(code: i32, message: &str, data: Option<&str>) -> ChainError {
    data.and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|v| serde_json::from_value::<ChainError>(v).ok())
        .unwrap_or_else(|| ChainError::Rpc {
            code,
            message: message.to_owned(),
        })
}
