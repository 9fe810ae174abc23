//! Signing, submitting and following transactions, and the calls other than weights.

use std::net::IpAddr;

use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Hotkey, NetUid, Uid};
use subxt::dynamic::Value;
use subxt::error::{DispatchError, TransactionEventsError};
use subxt::events::Event;
use subxt::rpcs::client::rpc_params;
use subxt::tx::TransactionStatus;
use subxt::utils::H256 as SubxtH256;

use super::calls::{self, Call};
use super::config::SubtensorConfig;
use super::decode::{self, malformed};
use super::errors::{self, CallContext};
use super::{At, Subtensor, account_value, netuid_value};
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::hyperparameter::Hyperparameter;
use crate::chain::types::Inclusion;

/// Whether this runtime has the call.
pub(super) fn has_call(at: &At, pallet: &str, name: &str) -> bool {
    at.metadata_ref()
        .pallet_by_name(pallet)
        .and_then(|p| p.call_variant_by_name(name))
        .is_some()
}

/// An included transaction: where, and the events it emitted (pallet, name, field bytes).
pub(super) struct Included {
    pub(super) inclusion: Inclusion,
    pub(super) events: Vec<(String, String, Vec<u8>)>,
}

impl Included {
    /// The fields of the first event called `pallet.name`.
    fn event(&self, pallet: &str, name: &str) -> Option<&[u8]> {
        self.events
            .iter()
            .find(|(p, n, _)| p == pallet && n == name)
            .map(|(_, _, bytes)| bytes.as_slice())
    }
}

fn event_of(
    e: Result<Event<'_, SubtensorConfig>, subxt::error::EventsError>,
) -> Result<(String, String, Vec<u8>), ChainError> {
    let e = e.map_err(|e| malformed("an event", e))?;
    Ok((
        e.pallet_name().to_owned(),
        e.event_name().to_owned(),
        e.field_bytes().to_vec(),
    ))
}

/// The failure a dispatch error stands for.
fn dispatch_failure(error: &DispatchError, ctx: &CallContext) -> ChainError {
    match error {
        DispatchError::Module(module) => match module.details() {
            Ok(d) => errors::dispatch(d.pallet.name(), &d.variant.name, ctx),
            Err(_) => ChainError::Dispatch {
                pallet: format!("pallet {}", module.pallet_index()),
                name: format!("error {}", module.error_index()),
            },
        },
        other => ChainError::Dispatch {
            pallet: "Runtime".to_owned(),
            name: format!("{other:?}"),
        },
    }
}

impl Subtensor {
    /// The node's next nonce for `account`, counting its transactions in the pool.
    async fn next_index(&self, account: &AccountId) -> Result<u64, ChainError> {
        self.inner
            .rpc
            .request::<u64>("system_accountNextIndex", rpc_params![account.to_ss58()])
            .await
            .map_err(|e| errors::client(&e))
    }

    /// Signs `call` for `signer` against block `at` (mortal from there), submits it, and
    /// waits for its block. A dispatch failure becomes the pallet's error; a refusal, a drop
    /// or an unknown outcome also forgets the signer's nonce count.
    pub(super) async fn submit(
        &self,
        at: &At,
        signer: &Keypair,
        call: &Call,
        ctx: &CallContext,
    ) -> Result<Included, ChainError> {
        if !has_call(at, call.pallet_name(), call.call_name()) {
            return Err(ChainError::Unsupported {
                what: format!(
                    "{}.{} (runtime version {})",
                    call.pallet_name(),
                    call.call_name(),
                    at.spec_version()
                ),
            });
        }
        let account = signer.public();
        let nonce = self
            .inner
            .nonces
            .take(&account, || self.next_index(&account))
            .await?;
        let result = self.sign_and_watch(at, signer, call, nonce, ctx).await;
        if let Err(e) = &result
            && (e.is_refusal() || e.is_transport())
        {
            self.inner.nonces.forget(&account).await;
        }
        result
    }

    async fn sign_and_watch(
        &self,
        at: &At,
        signer: &Keypair,
        call: &Call,
        nonce: u64,
        ctx: &CallContext,
    ) -> Result<Included, ChainError> {
        let birth = (at.block_number(), at.block_hash());
        let signed = calls::sign(at, signer, call, nonce, self.inner.era_period, birth)
            .map_err(|e| malformed(&format!("{}.{}", call.pallet_name(), call.call_name()), e))?;
        let extrinsic = H256(signed.hash().0);
        let mut progress =
            signed
                .submit_and_watch()
                .await
                .map_err(|e| match errors::find_user_error(&e) {
                    Some(u) => errors::refusal(u, ctx),
                    None => errors::client(&e),
                })?;
        let timeout = self.inner.inclusion_timeout;
        let in_block = tokio::time::timeout(timeout, async {
            loop {
                match progress.next().await {
                    Some(Ok(
                        TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b),
                    )) => {
                        return Ok(b);
                    }
                    Some(Ok(
                        TransactionStatus::Invalid { message }
                        | TransactionStatus::Dropped { message }
                        | TransactionStatus::Error { message },
                    )) => return Err(ChainError::InvalidTransaction { reason: message }),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        return Err(ChainError::OutcomeUnknown {
                            reason: format!(
                                "lost track of transaction {extrinsic} before its block ({e}); \
                                 check whether it was included before sending it again"
                            ),
                        });
                    }
                    None => {
                        return Err(ChainError::OutcomeUnknown {
                            reason: format!(
                                "the node stopped reporting on transaction {extrinsic} before \
                                 its block; check whether it was included before sending it again"
                            ),
                        });
                    }
                }
            }
        })
        .await
        .map_err(|_| ChainError::OutcomeUnknown {
            reason: format!(
                "transaction {extrinsic} was not included within {}s; it may still be",
                timeout.as_secs()
            ),
        })??;
        let block_hash = in_block.block_hash();
        let events = match in_block.wait_for_success().await {
            Ok(events) => events,
            Err(TransactionEventsError::ExtrinsicFailed(e)) => {
                return Err(dispatch_failure(&e, ctx));
            }
            Err(e) => return Err(errors::client(&e)),
        };
        let events = events.iter().map(event_of).collect::<Result<Vec<_>, _>>()?;
        let header: Option<subxt::config::substrate::SubstrateHeader<SubxtH256>> = self
            .inner
            .rpc
            .request("chain_getHeader", rpc_params![block_hash])
            .await
            .map_err(|e| errors::client(&e))?;
        let block = header
            .map(|h| Block(h.number))
            .ok_or_else(|| ChainError::Connection {
                message: format!("the node does not know block {block_hash:?} it just reported"),
            })?;
        Ok(Included {
            inclusion: Inclusion {
                extrinsic,
                block,
                block_hash: H256(block_hash.0),
            },
            events,
        })
    }

    pub(super) async fn transfer_keep_alive(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        if amount.is_zero() {
            return Err(ChainError::ZeroAmount);
        }
        let at = self.head().await?;
        let c = calls::transfer_keep_alive(to, amount);
        let ctx = CallContext {
            now: Block(at.block_number()),
            ..CallContext::default()
        };
        Ok(self.submit(&at, from, &c, &ctx).await?.inclusion)
    }

    pub(super) async fn register_network(
        &self,
        owner: &Keypair,
        hotkey: &Hotkey,
    ) -> Result<NetUid, ChainError> {
        let at = self.head().await?;
        let c = calls::register_network(hotkey);
        let ctx = CallContext {
            hotkey: Some(*hotkey),
            now: Block(at.block_number()),
            ..CallContext::default()
        };
        let included = self.submit(&at, owner, &c, &ctx).await?;
        let fields = included
            .event("SubtensorModule", "NetworkAdded")
            .ok_or_else(|| malformed("the registration's events", "no NetworkAdded event"))?;
        // NetworkAdded(netuid: u16, modality: u16)
        let netuid = fields
            .get(..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| malformed("NetworkAdded", "too short"))?;
        Ok(NetUid(netuid))
    }

    pub(super) async fn burned_register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError> {
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        if self.uid_of(&at, netuid, hotkey).await?.is_some() {
            return Err(ChainError::HotkeyAlreadyRegistered {
                netuid,
                hotkey: *hotkey,
            });
        }
        let burn = Balance::from_rao(
            self.storage_u64(
                &at,
                "SubtensorModule",
                "Burn",
                vec![netuid_value(netuid)],
                0,
            )
            .await?,
        );
        let balance = match self
            .storage(
                &at,
                "System",
                "Account",
                vec![account_value(&coldkey.public())],
            )
            .await?
        {
            Some(v) => decode::free_balance(&v)?,
            None => Balance::ZERO,
        };
        if balance < burn {
            return Err(ChainError::NotEnoughBalanceToRegister {
                account: coldkey.public(),
                balance,
                burn,
            });
        }
        // Where the runtime can cap the price, cap it just above what was read: registrations
        // racing ours raise the price, and a surprise burn is what nobody wants.
        let c = if has_call(&at, "SubtensorModule", "register_limit") {
            calls::register_limit(netuid, hotkey, calls::price_cap(burn))
        } else {
            calls::burned_register(netuid, hotkey)
        };
        let ctx = CallContext {
            netuid: Some(netuid),
            hotkey: Some(*hotkey),
            now: Block(at.block_number()),
            ..CallContext::default()
        };
        let included = self.submit(&at, coldkey, &c, &ctx).await?;
        // NeuronRegistered(netuid: u16, uid: u16, hotkey)
        let fields = included
            .event("SubtensorModule", "NeuronRegistered")
            .ok_or_else(|| malformed("the registration's events", "no NeuronRegistered event"))?;
        let uid = fields
            .get(2..4)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| malformed("NeuronRegistered", "too short"))?;
        Ok(Uid(uid))
    }

    pub(super) async fn serve(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Inclusion, ChainError> {
        let at = self.head().await?;
        let now = Block(at.block_number());
        let me = Hotkey(hotkey.public());
        self.require_subnet(&at, netuid).await?;
        if self.uid_of(&at, netuid, &me).await?.is_none() {
            return Err(ChainError::NotRegistered { netuid, hotkey: me });
        }
        if axon.port == 0 {
            return Err(ChainError::InvalidPort);
        }
        let unusable = match axon.ip {
            IpAddr::V4(ip) => ip.is_unspecified() || ip.is_broadcast(),
            IpAddr::V6(ip) => ip.is_unspecified(),
        };
        if unusable {
            return Err(ChainError::InvalidIpAddress { ip: axon.ip_u128() });
        }
        // The serving rate limit counts from the last axon record.
        let limit = self
            .storage_u64(
                &at,
                "SubtensorModule",
                "ServingRateLimit",
                vec![netuid_value(netuid)],
                50,
            )
            .await?;
        let last = match self
            .storage(
                &at,
                "SubtensorModule",
                "Axons",
                vec![netuid_value(netuid), account_value(&me.0)],
            )
            .await?
        {
            Some(v) => Block(decode::Fields::of("AxonInfo", &v)?.u64("block")?),
            None => Block(0),
        };
        if last != Block(0) && now.since(last) < limit {
            return Err(ChainError::ServingRateLimitExceeded { last, now, limit });
        }
        let c = calls::serve_axon(netuid, axon);
        let ctx = CallContext {
            netuid: Some(netuid),
            hotkey: Some(me),
            now,
            rate: Some((last, limit)),
            ip: Some(axon.ip_u128()),
            ..CallContext::default()
        };
        Ok(self.submit(&at, hotkey, &c, &ctx).await?.inclusion)
    }

    pub(super) async fn stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
        add: bool,
    ) -> Result<Inclusion, ChainError> {
        if amount.is_zero() {
            return Err(ChainError::ZeroAmount);
        }
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        let c = calls::stake(add, hotkey, netuid, amount);
        let ctx = CallContext {
            netuid: Some(netuid),
            hotkey: Some(*hotkey),
            now: Block(at.block_number()),
            ..CallContext::default()
        };
        Ok(self.submit(&at, coldkey, &c, &ctx).await?.inclusion)
    }

    /// Sets a hyperparameter through the chain's admin calls: signed by the subnet owner, or
    /// wrapped in `Sudo.sudo` when the signer is the sudo key (dev and local chains).
    pub(super) async fn admin_set(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Inclusion, ChainError> {
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        let n = netuid_value(netuid);
        let unsigned = |v: i64| -> Result<Value, ChainError> {
            u128::try_from(v)
                .map(Value::u128)
                .map_err(|_| ChainError::HyperparameterOutOfBounds {
                    name: name.name(),
                    value: i128::from(v),
                    min: 0,
                    max: i128::from(u64::MAX),
                })
        };
        let flag = Value::bool(value != 0);
        let (pallet, call_name, args): (&str, &str, Vec<Value>) = match name {
            Hyperparameter::Tempo => ("AdminUtils", "sudo_set_tempo", vec![n, unsigned(value)?]),
            Hyperparameter::Kappa => ("AdminUtils", "sudo_set_kappa", vec![n, unsigned(value)?]),
            Hyperparameter::ImmunityPeriod => (
                "AdminUtils",
                "sudo_set_immunity_period",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::MinAllowedWeights => (
                "AdminUtils",
                "sudo_set_min_allowed_weights",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::MaxAllowedUids => (
                "AdminUtils",
                "sudo_set_max_allowed_uids",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::MaxAllowedValidators => (
                "AdminUtils",
                "sudo_set_max_allowed_validators",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::ActivityCutoffFactorMilli => {
                // The chain counts the cutoff in blocks.
                let tempo = self.hyperparameters_at(&at, netuid).await?.tempo;
                let blocks = unsigned(value)?;
                let blocks = decode::uint(&blocks).unwrap_or(0) * u128::from(tempo) / 1000;
                (
                    "AdminUtils",
                    "sudo_set_activity_cutoff",
                    vec![n, Value::u128(blocks.max(1))],
                )
            }
            Hyperparameter::WeightsVersionKey => (
                "AdminUtils",
                "sudo_set_weights_version_key",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::WeightsSetRateLimit => (
                "AdminUtils",
                "sudo_set_weights_set_rate_limit",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::ServingRateLimit => (
                "AdminUtils",
                "sudo_set_serving_rate_limit",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::BondsMovingAverage => (
                "AdminUtils",
                "sudo_set_bonds_moving_average",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::BondsPenalty => (
                "AdminUtils",
                "sudo_set_bonds_penalty",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::Yuma3Enabled => ("AdminUtils", "sudo_set_yuma3_enabled", vec![n, flag]),
            Hyperparameter::LiquidAlphaEnabled => {
                ("AdminUtils", "sudo_set_liquid_alpha_enabled", vec![n, flag])
            }
            Hyperparameter::AlphaLow | Hyperparameter::AlphaHigh => {
                // The chain sets both bounds at once.
                let h = self.hyperparameters_at(&at, netuid).await?;
                let (low, high) = if name == Hyperparameter::AlphaLow {
                    (unsigned(value)?, Value::u128(u128::from(h.alpha_high)))
                } else {
                    (Value::u128(u128::from(h.alpha_low)), unsigned(value)?)
                };
                ("AdminUtils", "sudo_set_alpha_values", vec![n, low, high])
            }
            Hyperparameter::AlphaSigmoidSteepness => (
                "AdminUtils",
                "sudo_set_alpha_sigmoid_steepness",
                vec![n, Value::i128(i128::from(value))],
            ),
            Hyperparameter::CommitRevealWeightsEnabled => (
                "AdminUtils",
                "sudo_set_commit_reveal_weights_enabled",
                vec![n, flag],
            ),
            Hyperparameter::CommitRevealPeriod => (
                "AdminUtils",
                "sudo_set_commit_reveal_weights_interval",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::RegistrationAllowed => (
                "AdminUtils",
                "sudo_set_network_registration_allowed",
                vec![n, flag],
            ),
            Hyperparameter::MaxRegsPerBlock => (
                "AdminUtils",
                "sudo_set_max_registrations_per_block",
                vec![n, unsigned(value)?],
            ),
            Hyperparameter::MinBurn => {
                ("AdminUtils", "sudo_set_min_burn", vec![n, unsigned(value)?])
            }
            Hyperparameter::MaxBurn => {
                ("AdminUtils", "sudo_set_max_burn", vec![n, unsigned(value)?])
            }
            Hyperparameter::BondsResetEnabled => {
                ("AdminUtils", "sudo_set_bonds_reset_enabled", vec![n, flag])
            }
            // Emission starts with the owner's `start_call`; it cannot be stopped.
            Hyperparameter::EmissionEnabled if value != 0 => {
                ("SubtensorModule", "start_call", vec![n])
            }
            Hyperparameter::EmissionEnabled | Hyperparameter::BurnHalfLife => {
                return Err(ChainError::Unsupported {
                    what: format!("setting `{name}` to {value}"),
                });
            }
        };
        let inner = calls::call(pallet, call_name, args);
        let sudo = self
            .storage(&at, "Sudo", "Key", vec![])
            .await?
            .and_then(|v| decode::account(&v).ok());
        let as_root = pallet == "AdminUtils" && sudo == Some(owner.public());
        let ctx = CallContext {
            netuid: Some(netuid),
            now: Block(at.block_number()),
            ..CallContext::default()
        };
        if as_root {
            self.submit_as_root(&at, owner, inner, &ctx).await
        } else {
            Ok(self.submit(&at, owner, &inner, &ctx).await?.inclusion)
        }
    }

    /// Submits `inner` through `Sudo.sudo`, and fails with the inner call's error if it failed.
    pub(super) async fn submit_as_root(
        &self,
        at: &At,
        sudo_key: &Keypair,
        inner: Call,
        ctx: &CallContext,
    ) -> Result<Inclusion, ChainError> {
        let (pallet, call_name) = (inner.pallet_name().to_owned(), inner.call_name().to_owned());
        if !has_call(at, &pallet, &call_name) {
            return Err(ChainError::Unsupported {
                what: format!(
                    "{pallet}.{call_name} (runtime version {})",
                    at.spec_version()
                ),
            });
        }
        let wrapped = calls::sudo(inner);
        let included = self.submit(at, sudo_key, &wrapped, ctx).await?;
        // A failing call under sudo still makes the extrinsic succeed; `Sudid` says how the
        // inner call went (`Result<(), DispatchError>`).
        if let Some(fields) = included.event("Sudo", "Sudid")
            && fields.first() == Some(&1)
        {
            let e = DispatchError::decode_from(&fields[1..], at.metadata())
                .map_err(|e| malformed("Sudo.Sudid", e))?;
            return Err(dispatch_failure(&e, ctx));
        }
        Ok(included.inclusion)
    }
}
