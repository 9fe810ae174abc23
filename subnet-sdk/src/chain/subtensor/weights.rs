//! Weights on the real chain: checked first, then set, or timelock-committed when the subnet
//! uses commit-reveal.
//!
//! The checks are the chain's own (registered, validator permit, rate limit, minimum count),
//! read at the head block, so a call the chain would fail is not sent: it costs no fee, no
//! nonce, and the error says when to try again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subforge_core::identity::Keypair;
use subforge_core::{Block, Hotkey, NetUid, Uid};
use subxt::dynamic::Value;

use super::calls::{self, CommitForm};
use super::decode::{self, malformed};
use super::errors::CallContext;
use super::timelock::{self, DrandNetwork, EpochSchedule, EpochState, WeightsPayload};
use super::write::has_call;
use super::{At, Subtensor, netuid_value};
use crate::chain::error::ChainError;
use crate::chain::types::{Reveal, Weights, WeightsOutcome};

/// Storage index of a mechanism's per-subnet items (`mecid · 4096 + netuid`).
fn mechanism_index(netuid: NetUid, mechanism: u8) -> u128 {
    u128::from(mechanism) * 4096 + u128::from(netuid.get())
}

/// Block time when a runtime does not declare one: finney's 12 s.
const FALLBACK_BLOCK_TIME_MS: u64 = 12_000;

impl Subtensor {
    /// The chain's slot length in milliseconds (`Aura.SlotDuration`).
    fn block_time_ms(at: &At) -> u64 {
        at.constants()
            .entry(subxt::dynamic::constant::<u64>("Aura", "SlotDuration"))
            .ok()
            .filter(|ms| *ms > 0)
            .unwrap_or(FALLBACK_BLOCK_TIME_MS)
    }

    /// A per-uid vector from storage (`LastUpdate`, `ValidatorPermit`), element `uid`.
    async fn per_uid(
        &self,
        at: &At,
        entry: &str,
        index: u128,
        uid: Uid,
    ) -> Result<Option<Value>, ChainError> {
        let Some(list) = self
            .storage(at, "SubtensorModule", entry, vec![Value::u128(index)])
            .await?
        else {
            return Ok(None);
        };
        let items = decode::seq(&list).map_err(|e| malformed(entry, e))?;
        Ok(items.get(uid.index()).cloned())
    }

    /// Checks, then sets or commits `weights` for `hotkey` on `netuid`.
    pub(super) async fn put_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        weights: &Weights,
    ) -> Result<WeightsOutcome, ChainError> {
        if weights.uids.len() != weights.values.len() {
            return Err(ChainError::WeightVecLengthMismatch {
                uids: weights.uids.len(),
                weights: weights.values.len(),
            });
        }
        let at = self.head().await?;
        let now = Block(at.block_number());
        let me = Hotkey(hotkey.public());
        self.require_subnet(&at, netuid).await?;
        let mechanism = weights.mechanism.0;
        if mechanism > 0 {
            let count = self
                .storage_u64(
                    &at,
                    "SubtensorModule",
                    "MechanismCountCurrent",
                    vec![netuid_value(netuid)],
                    1,
                )
                .await?;
            if u64::from(mechanism) >= count {
                return Err(ChainError::MechanismNotExists { netuid, mechanism });
            }
        }
        let uid = self
            .uid_of(&at, netuid, &me)
            .await?
            .ok_or(ChainError::NotRegistered { netuid, hotkey: me })?;
        let commit_reveal = match self
            .storage(
                &at,
                "SubtensorModule",
                "CommitRevealWeightsEnabled",
                vec![netuid_value(netuid)],
            )
            .await?
        {
            Some(v) => {
                decode::boolean(&v).map_err(|e| malformed("CommitRevealWeightsEnabled", e))?
            }
            None => false,
        };

        // The rate limit counts from the last weights (or commit), per mechanism.
        let index = mechanism_index(netuid, mechanism);
        let limit = self
            .storage_u64(
                &at,
                "SubtensorModule",
                "WeightsSetRateLimit",
                vec![netuid_value(netuid)],
                100,
            )
            .await?;
        let last = match self.per_uid(&at, "LastUpdate", index, uid).await? {
            Some(v) => Block(decode::u64_of(&v).map_err(|e| malformed("LastUpdate", e))?),
            None => Block(0),
        };
        if now.since(last) < limit {
            return Err(if commit_reveal {
                ChainError::CommittingWeightsTooFast { last, now, limit }
            } else {
                ChainError::SettingWeightsTooFast { last, now, limit }
            });
        }
        let lone_self_weight = weights.uids == [uid.0];
        if !lone_self_weight {
            let permit = match self
                .per_uid(&at, "ValidatorPermit", u128::from(netuid.get()), uid)
                .await?
            {
                Some(v) => decode::boolean(&v).unwrap_or(false),
                None => false,
            };
            if !permit {
                return Err(ChainError::NoValidatorPermit { netuid, uid });
            }
            let min = usize::from(
                u16::try_from(
                    self.storage_u64(
                        &at,
                        "SubtensorModule",
                        "MinAllowedWeights",
                        vec![netuid_value(netuid)],
                        0,
                    )
                    .await?,
                )
                .unwrap_or(u16::MAX),
            );
            let n = usize::from(
                u16::try_from(
                    self.storage_u64(
                        &at,
                        "SubtensorModule",
                        "SubnetworkN",
                        vec![netuid_value(netuid)],
                        0,
                    )
                    .await?,
                )
                .unwrap_or(u16::MAX),
            );
            let min = min.min(n);
            if weights.uids.len() < min {
                return Err(ChainError::WeightVecLengthIsLow {
                    len: weights.uids.len(),
                    min,
                });
            }
        }
        let ctx = CallContext {
            netuid: Some(netuid),
            hotkey: Some(me),
            uid: Some(uid),
            now,
            rate: Some((last, limit)),
            ip: None,
        };

        if !commit_reveal {
            let (uids, values, key) = (&weights.uids, &weights.values, weights.version_key);
            let c = if has_call(&at, "SubtensorModule", "set_mechanism_weights") {
                calls::set_mechanism_weights(netuid, mechanism, uids, values, key)
            } else if mechanism == 0 {
                calls::set_weights(netuid, uids, values, key)
            } else {
                return Err(ChainError::MechanismNotExists { netuid, mechanism });
            };
            let included = self.submit(&at, hotkey, &c, &ctx).await?;
            return Ok(WeightsOutcome::Set(included.inclusion));
        }

        // Commit-reveal: lock the weights to the drand round the chain will reveal them at.
        let tempo = u16::try_from(
            self.storage_u64(
                &at,
                "SubtensorModule",
                "Tempo",
                vec![netuid_value(netuid)],
                360,
            )
            .await?,
        )
        .unwrap_or(u16::MAX);
        let schedule = EpochSchedule {
            current_block: now.get(),
            netuid: netuid.get(),
            tempo,
            reveal_period_epochs: self
                .storage_u64(
                    &at,
                    "SubtensorModule",
                    "RevealPeriodEpochs",
                    vec![netuid_value(netuid)],
                    1,
                )
                .await?,
            block_time_ms: Self::block_time_ms(&at),
        };
        let wall_clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let network = DrandNetwork::QUICKNET;
        let has_stateful_epochs = at
            .metadata_ref()
            .pallet_by_name("SubtensorModule")
            .and_then(|p| p.storage())
            .and_then(|s| s.entry_by_name("SubnetEpochIndex"))
            .is_some();
        let target = if has_stateful_epochs {
            let read = |entry: &'static str| {
                self.storage_u64(&at, "SubtensorModule", entry, vec![netuid_value(netuid)], 0)
            };
            let state = EpochState {
                last_epoch_block: read("LastEpochBlock").await?,
                pending_epoch_at: read("PendingEpochAt").await?,
                subnet_epoch_index: read("SubnetEpochIndex").await?,
                blocks_since_last_step: read("BlocksSinceLastStep").await?,
            };
            timelock::reveal_round_v2(&schedule, &state, &network, wall_clock)
        } else {
            timelock::reveal_round_v1(&schedule, &network, wall_clock)
        }
        .map_err(|e| malformed("the reveal schedule", e))?;
        let payload = WeightsPayload {
            hotkey: me.0.0,
            uids: weights.uids.clone(),
            values: weights.values.clone(),
            version_key: weights.version_key,
        };
        let commit = timelock::encrypt_weights(
            &payload,
            target.reveal_round,
            &network,
            &mut rand_core::OsRng,
        )
        .map_err(|e| malformed("the weights commit", e))?;
        let version = self
            .storage_u64(
                &at,
                "SubtensorModule",
                "CommitRevealWeightsVersion",
                vec![],
                u64::from(timelock::COMMIT_REVEAL_VERSION),
            )
            .await?;
        let version = u16::try_from(version).unwrap_or(timelock::COMMIT_REVEAL_VERSION);
        let form = if has_call(
            &at,
            "SubtensorModule",
            "commit_timelocked_mechanism_weights",
        ) {
            CommitForm::Mechanism
        } else if mechanism > 0 {
            return Err(ChainError::MechanismNotExists { netuid, mechanism });
        } else if has_call(&at, "SubtensorModule", "commit_timelocked_weights") {
            CommitForm::Timelocked
        } else {
            CommitForm::Crv3
        };
        let c = calls::commit_timelocked(
            form,
            netuid,
            mechanism,
            commit,
            target.reveal_round,
            version,
        );
        let included = self.submit(&at, hotkey, &c, &ctx).await?;
        Ok(WeightsOutcome::Committed {
            inclusion: included.inclusion,
            reveal: Reveal::Automatic {
                round: target.reveal_round,
                expected_block: Block(target.reveal_block),
            },
        })
    }
}
