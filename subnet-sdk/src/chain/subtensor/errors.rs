//! The chain's refusals and failures as typed [`ChainError`]s.
//!
//! A transaction fails in one of two places. The node may refuse it before inclusion (JSON-RPC
//! error 1010 "Invalid Transaction", or 1014 for a nonce already in the pool); subtensor's own
//! checks then give a numbered `Custom(n)` reason. Or it is included and fails in dispatch,
//! which the block's `System.ExtrinsicFailed` event names as a pallet error. Both become the
//! variant a local chain would give for the same rule, filled from what the call knew.

use std::error::Error as StdError;

use subforge_core::{Block, Hotkey, NetUid, Uid};
use subxt::error::{BackendError, RpcError};
use subxt::rpcs::UserError;

use crate::chain::error::ChainError;

/// What the failing call was about, to fill in the error's fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallContext {
    pub(crate) netuid: Option<NetUid>,
    pub(crate) hotkey: Option<Hotkey>,
    pub(crate) uid: Option<Uid>,
    /// The head block when the call was made.
    pub(crate) now: Block,
    /// A rate-limited call's last use and limit, as read before sending it.
    pub(crate) rate: Option<(Block, u64)>,
    /// The IP a `serve_axon` carried.
    pub(crate) ip: Option<u128>,
}

impl CallContext {
    fn subnet(&self) -> NetUid {
        self.netuid.unwrap_or(NetUid(0))
    }

    fn key(&self) -> Option<Hotkey> {
        self.hotkey
    }
}

/// A pallet error from a failed dispatch.
pub(crate) fn dispatch(pallet: &str, error: &str, ctx: &CallContext) -> ChainError {
    let netuid = ctx.subnet();
    let rate = |f: fn(Block, Block, u64) -> ChainError| {
        ctx.rate.map(|(last, limit)| f(last, ctx.now, limit))
    };
    let typed = match error {
        "SubNetworkDoesNotExist" | "SubnetNotExists" | "MechanismDoesNotExist" => {
            Some(ChainError::SubnetNotExists { netuid })
        }
        "HotKeyNotRegisteredInSubNet" | "HotKeyNotRegisteredInNetwork" => ctx
            .key()
            .map(|hotkey| ChainError::NotRegistered { netuid, hotkey }),
        "HotKeyAlreadyRegisteredInSubNet" => ctx
            .key()
            .map(|hotkey| ChainError::HotkeyAlreadyRegistered { netuid, hotkey }),
        "SubNetRegistrationDisabled" => Some(ChainError::SubnetRegistrationDisabled { netuid }),
        "CommitRevealEnabled" => Some(ChainError::CommitRevealEnabled { netuid }),
        "CommitRevealDisabled" => Some(ChainError::CommitRevealDisabled { netuid }),
        "NeuronNoValidatorPermit" => ctx
            .uid
            .map(|uid| ChainError::NoValidatorPermit { netuid, uid }),
        "SettingWeightsTooFast" => {
            rate(|last, now, limit| ChainError::SettingWeightsTooFast { last, now, limit })
        }
        "CommittingWeightsTooFast" => {
            rate(|last, now, limit| ChainError::CommittingWeightsTooFast { last, now, limit })
        }
        "ServingRateLimitExceeded" => {
            rate(|last, now, limit| ChainError::ServingRateLimitExceeded { last, now, limit })
        }
        "TooManyUnrevealedCommits" => Some(ChainError::TooManyUnrevealedCommits { max: 10 }),
        "InvalidPort" => Some(ChainError::InvalidPort),
        "InvalidIpAddress" => ctx.ip.map(|ip| ChainError::InvalidIpAddress { ip }),
        _ => None,
    };
    typed.unwrap_or_else(|| ChainError::Dispatch {
        pallet: pallet.to_owned(),
        name: error.to_owned(),
    })
}

/// Subtensor's numbered reasons for refusing a transaction before inclusion
/// (`CustomTransactionError`), as far as the call lets us name them.
fn custom(code: u64, ctx: &CallContext) -> Option<ChainError> {
    let netuid = ctx.subnet();
    let name = match code {
        3 => return Some(ChainError::SubnetNotExists { netuid }),
        10 => {
            return ctx
                .key()
                .map(|hotkey| ChainError::NotRegistered { netuid, hotkey });
        }
        11 => return ctx.ip.map(|ip| ChainError::InvalidIpAddress { ip }),
        12 => {
            return ctx
                .rate
                .map(|(last, limit)| ChainError::ServingRateLimitExceeded {
                    last,
                    now: ctx.now,
                    limit,
                });
        }
        13 => return Some(ChainError::InvalidPort),
        0 => "the coldkey is scheduled for a swap",
        1 => "the stake amount is too low",
        2 => "the balance is too low",
        4 => "the hotkey account does not exist",
        5 => "not enough stake to withdraw",
        6 => "rate limit exceeded",
        7 => "insufficient liquidity in the subnet's pool",
        8 => "the price moved more than the slippage allowed",
        9 => "transfers are disabled on this subnet",
        14 => "bad request",
        15 => "the maximum amount is zero",
        16 => "invalid reveal round",
        17 => "commit not found",
        18 => "the commit's block is outside the reveal range",
        19 => "input lengths differ",
        20 => "uid not found",
        _ => return None,
    };
    Some(ChainError::InvalidTransaction {
        reason: format!("{name} (subtensor reason {code})"),
    })
}

/// A JSON-RPC error from submitting: the node's refusal, typed where subtensor says why.
///
/// Nodes word these differently: a Substrate node answers code 1010 with the reason in `data`
/// ("Transaction is outdated", "Custom error: 12"); others put a JSON object in the message
/// (`{"invalid":{"custom":12}}`). Both are understood.
pub(crate) fn refusal(e: &UserError, ctx: &CallContext) -> ChainError {
    let data = e
        .data
        .as_ref()
        .map(|d| d.get().trim_matches('"').to_owned())
        .unwrap_or_default();
    let text = format!("{} {data}", e.message);
    if let Some(code) = custom_code(&text)
        && let Some(typed) = custom(code, ctx)
    {
        return typed;
    }
    let reason = if data.is_empty() {
        e.message.clone()
    } else {
        format!("{}: {data}", e.message)
    };
    match e.code {
        1010..=1014 => ChainError::InvalidTransaction { reason },
        code => ChainError::Rpc {
            code,
            message: reason,
        },
    }
}

/// The number in "Custom error: 12" or `{"custom":12}`, if any.
fn custom_code(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("custom")?;
    let digits: String = lower[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The backend failure a subxt error carries, where it keeps one out of the cause chain.
fn backend_of<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a BackendError> {
    use subxt::error::{ExtrinsicError, RuntimeApiError, StorageError};
    if let Some(b) = err.downcast_ref::<BackendError>() {
        return Some(b);
    }
    if let Some(RuntimeApiError::CannotCallApi(b)) = err.downcast_ref::<RuntimeApiError>() {
        return Some(b);
    }
    if let Some(
        StorageError::CannotFetchValue(b)
        | StorageError::CannotIterateValues(b)
        | StorageError::StreamFailure(b),
    ) = err.downcast_ref::<StorageError>()
    {
        return Some(b);
    }
    match err.downcast_ref::<ExtrinsicError>() {
        Some(
            ExtrinsicError::ErrorSubmittingTransaction(b)
            | ExtrinsicError::TransactionStatusStreamError(b),
        ) => Some(b),
        _ => None,
    }
}

/// The JSON-RPC error object somewhere in an error's chain of causes.
pub(crate) fn find_user_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a UserError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(subxt::rpcs::Error::User(u)) = err.downcast_ref::<subxt::rpcs::Error>() {
            return Some(u);
        }
        if let Some(u) = err.downcast_ref::<UserError>() {
            return Some(u);
        }
        if let Some(BackendError::Rpc(RpcError::ClientError(subxt::rpcs::Error::User(u)))) =
            backend_of(err)
        {
            return Some(u);
        }
        cur = err.source();
    }
    None
}

/// Whether the error chain says a submission's connection broke mid-way.
pub(crate) fn find_interrupted(e: &(dyn StdError + 'static)) -> Option<String> {
    use super::transport::SubmitInterrupted;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(i) = err.downcast_ref::<SubmitInterrupted>() {
            return Some(i.to_string());
        }
        // subxt keeps a transport's own error inside `rpcs::Error::Client`, which it does not
        // report as a cause, and a submission's error keeps its backend error out of the chain.
        let inner = match err.downcast_ref::<subxt::rpcs::Error>() {
            Some(subxt::rpcs::Error::Client(c)) => Some(c),
            _ => match backend_of(err) {
                Some(BackendError::Rpc(RpcError::ClientError(subxt::rpcs::Error::Client(c)))) => {
                    Some(c)
                }
                _ => None,
            },
        };
        if let Some(i) = inner.and_then(|c| c.downcast_ref::<SubmitInterrupted>()) {
            return Some(i.to_string());
        }
        cur = err.source();
    }
    None
}

/// A failure to read state at a past `block`: a node that has pruned that state (substrate
/// says "State already discarded for ...") does not support the read, which an archive node
/// would answer. Other errors pass through.
pub(crate) fn past_state(e: ChainError, block: Block) -> ChainError {
    let message = match &e {
        ChainError::Rpc { message, .. } | ChainError::Connection { message } => message,
        _ => return e,
    };
    let lower = message.to_ascii_lowercase();
    if lower.contains("discarded") || lower.contains("pruned") || lower.contains("unknownblock") {
        ChainError::Unsupported {
            what: format!(
                "reading block {block}'s state, which this node has pruned \
                 (an archive node keeps it: --chain archive)"
            ),
        }
    } else {
        e
    }
}

/// Any other failure of the client: the connection's, or a reply we could not read.
pub(crate) fn client(e: &(dyn StdError + 'static)) -> ChainError {
    if let Some(reason) = find_interrupted(e) {
        return ChainError::OutcomeUnknown { reason };
    }
    if let Some(u) = find_user_error(e) {
        return ChainError::Rpc {
            code: u.code,
            message: u.message.clone(),
        };
    }
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    ChainError::Connection { message }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;
    use subforge_core::AccountId;

    use super::*;

    fn user(code: i32, message: &str, data: Option<&str>) -> UserError {
        UserError {
            code,
            message: message.to_owned(),
            data: data.map(|d| RawValue::from_string(d.to_owned()).unwrap()),
        }
    }

    fn ctx() -> CallContext {
        CallContext {
            netuid: Some(NetUid(3)),
            hotkey: Some(Hotkey(AccountId([1; 32]))),
            uid: Some(Uid(4)),
            now: Block(120),
            rate: Some((Block(100), 50)),
            ip: Some(0x7f00_0001),
        }
    }

    #[test]
    fn pruned_state_is_unsupported_and_other_errors_pass() {
        let pruned = ChainError::Rpc {
            code: 4003,
            message: "Client error: UnknownBlock: State already discarded for 0x8f3a".to_owned(),
        };
        match past_state(pruned, Block(7)) {
            ChainError::Unsupported { what } => {
                assert!(
                    what.contains("block 7") && what.contains("archive"),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
        let gone = ChainError::SubnetNotExists { netuid: NetUid(3) };
        assert!(matches!(
            past_state(gone, Block(7)),
            ChainError::SubnetNotExists { .. }
        ));
        let refused = ChainError::Rpc {
            code: -32000,
            message: "connection refused".to_owned(),
        };
        assert!(matches!(
            past_state(refused, Block(7)),
            ChainError::Rpc { code: -32000, .. }
        ));
    }

    #[test]
    fn refusals_from_both_node_dialects_are_typed() {
        let c = ctx();
        // A Substrate node: reason in `data`.
        let e = refusal(
            &user(1010, "Invalid Transaction", Some("\"Custom error: 12\"")),
            &c,
        );
        assert_eq!(
            e,
            ChainError::ServingRateLimitExceeded {
                last: Block(100),
                now: Block(120),
                limit: 50
            }
        );
        assert_eq!(e.retry_at(), Some(Block(150)));
        // Chopsticks: reason as JSON in the message.
        let e = refusal(&user(1010, "{\"invalid\":{\"custom\":10}}", None), &c);
        assert!(matches!(e, ChainError::NotRegistered { .. }), "{e:?}");
        let e = refusal(&user(1010, "{\"invalid\":{\"custom\":11}}", None), &c);
        assert_eq!(e, ChainError::InvalidIpAddress { ip: 0x7f00_0001 });
        let e = refusal(
            &user(
                1010,
                "Invalid Transaction",
                Some("\"Transaction is outdated\""),
            ),
            &c,
        );
        assert!(e.is_refusal());
        assert!(e.to_string().contains("outdated"), "{e}");
        let e = refusal(&user(1014, "Priority is too low: (1 vs 1)", None), &c);
        assert!(matches!(e, ChainError::InvalidTransaction { .. }));
        let e = refusal(&user(-32004, "storage work rate limit exceeded", None), &c);
        assert!(matches!(e, ChainError::Rpc { code: -32004, .. }));
        let e = refusal(&user(1010, "{\"invalid\":{\"custom\":6}}", None), &c);
        assert!(e.to_string().contains("rate limit"), "{e}");
    }

    #[test]
    fn dispatch_errors_are_typed_where_the_call_knew_enough() {
        let c = ctx();
        assert_eq!(
            dispatch("SubtensorModule", "SettingWeightsTooFast", &c),
            ChainError::SettingWeightsTooFast {
                last: Block(100),
                now: Block(120),
                limit: 50
            }
        );
        assert_eq!(
            dispatch("SubtensorModule", "NeuronNoValidatorPermit", &c),
            ChainError::NoValidatorPermit {
                netuid: NetUid(3),
                uid: Uid(4)
            }
        );
        assert_eq!(
            dispatch("SubtensorModule", "SomethingNew", &c),
            ChainError::Dispatch {
                pallet: "SubtensorModule".into(),
                name: "SomethingNew".into()
            }
        );
        // Without the rate figures the error stays honest rather than invented.
        let bare = CallContext::default();
        assert!(matches!(
            dispatch("SubtensorModule", "SettingWeightsTooFast", &bare),
            ChainError::Dispatch { .. }
        ));
    }
}
