//! [`Subtensor`]: the real Bittensor chain (finney, testnet, or any subtensor node) behind the
//! [`Chain`] seam, so the same miners and validators that run on the local chain run there.
//!
//! ```no_run
//! # async fn demo() -> Result<(), subforge_sdk::chain::ChainError> {
//! use subforge_sdk::chain::{Chain, Network, subtensor::Subtensor};
//!
//! let finney = Subtensor::builder().network(Network::Finney).connect().await?;
//! let metagraph = finney.metagraph(subforge_sdk::core::NetUid(1)).await?;
//! println!("{} neurons at block {}", metagraph.n(), metagraph.block);
//! # Ok(()) }
//! ```
//!
//! How it talks to the chain:
//! - **subxt's dynamic API** over the node's legacy JSON-RPC methods: calls, storage and runtime
//!   APIs are encoded and decoded against the metadata the node serves, fetched at connect
//!   and again whenever a block reports a new runtime version, so an upgrade that keeps the
//!   fields we use changes nothing here; answers are read by field name (`decode`).
//! - **one supervised WebSocket** per set of endpoints in the process (`transport`):
//!   reconnects, rotates endpoints, never resends a transaction.
//! - **nonces from `system_accountNextIndex`** (which counts the pool), counted locally and
//!   forgotten after a failed submission (`nonce`); **mortal** transactions (128 blocks by
//!   default, as the Python SDK).
//! - **checks before sending** (registered, validator permit, rate limits), so a call the
//!   chain would refuse fails at once with the typed error and the block to retry at, and
//!   costs nothing.
//! - weights are set with `set_mechanism_weights`, or, when the subnet uses commit-reveal,
//!   committed with a drand **timelock** the chain opens by itself ([`timelock`]).

mod calls;
mod config;
mod decode;
mod errors;
mod nonce;
pub mod replay;
pub mod timelock;
mod transport;
mod weights;
mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parity_scale_codec::Encode;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};
use subxt::backend::LegacyBackend;
use subxt::client::{OnlineClient, OnlineClientAtBlock};
use subxt::config::substrate::SubstrateHeader;
use subxt::rpcs::RpcClient;
use subxt::rpcs::client::{RpcClientT, rpc_params};
use subxt::utils::{AccountId32, H256 as SubxtH256};

use self::config::SubtensorConfig;
use self::decode::malformed;
use self::nonce::Nonces;
use self::transport::WsTransport;
use super::Chain;
use super::error::ChainError;
use super::hash::{H256, blake2_256};
use super::hyperparameter::Hyperparameter;
use super::target::Network;
use super::types::{
    BlockRef, ChainInfo, Inclusion, PendingReveal, RevealStatus, StakeInfo, SubnetInfo, Weights,
    WeightsOutcome,
};

/// A dynamic value: the arguments of [`Subtensor::submit_call`].
pub use subxt::dynamic::Value;

/// The default life of a transaction: 128 blocks, as the Python SDK signs them.
pub const DEFAULT_ERA_PERIOD: u64 = 128;

/// How long a submitted transaction may take to be included before the call gives up
/// waiting (it may still be included later; the error says so).
pub const DEFAULT_INCLUSION_TIMEOUT: Duration = Duration::from_secs(120);

/// The weights inside a timelocked commit, opened with the drand signature of the round it is
/// locked to, as the chain opens it at the reveal: what anyone auditing a validator needs.
/// Returns the hotkey the commit names (the chain drops it unless that is the committer).
pub fn open_weights_commit(
    commit: &[u8],
    round_signature: &[u8],
) -> Result<(Hotkey, Weights), ChainError> {
    let payload = timelock::decrypt_weights(commit, round_signature)
        .map_err(|e| malformed("a timelocked weights commit", e))?;
    Ok((
        Hotkey(AccountId(payload.hotkey)),
        Weights::new(payload.uids, payload.values, payload.version_key),
    ))
}

/// A block with the runtime it ran, ready for storage, runtime API and transaction work.
type At = OnlineClientAtBlock<SubtensorConfig>;

/// Configures and connects a [`Subtensor`].
#[derive(Debug, Clone)]
pub struct SubtensorBuilder {
    endpoints: Vec<String>,
    era_period: u64,
    inclusion_timeout: Duration,
}

impl Default for SubtensorBuilder {
    fn default() -> Self {
        Self {
            endpoints: Network::Local
                .endpoints()
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            era_period: DEFAULT_ERA_PERIOD,
            inclusion_timeout: DEFAULT_INCLUSION_TIMEOUT,
        }
    }
}

impl SubtensorBuilder {
    /// A public network's endpoints.
    pub fn network(mut self, network: Network) -> Self {
        self.endpoints = network
            .endpoints()
            .iter()
            .map(|e| (*e).to_owned())
            .collect();
        self
    }

    /// Nodes to use, in order of preference (`ws://` or `wss://`); the next one takes over
    /// when one fails. They must all serve the same chain.
    pub fn endpoints(mut self, endpoints: impl IntoIterator<Item = String>) -> Self {
        self.endpoints = endpoints.into_iter().collect();
        self
    }

    /// Blocks a signed transaction stays valid for (a power of two from 4 to 65 536; others
    /// round to one). Default 128.
    pub fn era_period(mut self, blocks: u64) -> Self {
        self.era_period = blocks.clamp(4, 65_536);
        self
    }

    /// How long to wait for a submitted transaction's block. Default two minutes.
    pub fn inclusion_timeout(mut self, timeout: Duration) -> Self {
        self.inclusion_timeout = timeout;
        self
    }

    /// Connects to the first endpoint that answers.
    pub async fn connect(self) -> Result<Subtensor, ChainError> {
        let transport = WsTransport::shared(self.endpoints.clone())
            .await
            .map_err(|e| errors::client(&e))?;
        self.open(transport.clone(), Some(transport)).await
    }

    /// Connects over any JSON-RPC transport: a recording replayed in tests, a proxy, ...
    pub async fn connect_with(self, rpc: impl RpcClientT) -> Result<Subtensor, ChainError> {
        self.open(rpc, None).await
    }

    async fn open(
        self,
        rpc: impl RpcClientT,
        transport: Option<Arc<WsTransport>>,
    ) -> Result<Subtensor, ChainError> {
        let rpc = RpcClient::new(rpc);
        let genesis: Option<SubxtH256> = rpc
            .request("chain_getBlockHash", rpc_params![0u32])
            .await
            .map_err(|e| errors::client(&e))?;
        let genesis = genesis.ok_or_else(|| ChainError::Connection {
            message: "the node knows no block 0".to_owned(),
        })?;
        let name: String = rpc
            .request("system_chain", rpc_params![])
            .await
            .map_err(|e| errors::client(&e))?;
        let config = SubtensorConfig::online(genesis);
        let backend = LegacyBackend::<SubtensorConfig>::builder().build(rpc.clone());
        let client = OnlineClient::from_backend_with_config(config, Arc::new(backend))
            .await
            .map_err(|e| errors::client(&e))?;
        let chain = Subtensor {
            inner: Arc::new(Inner {
                client,
                rpc,
                transport,
                name,
                genesis: H256(genesis.0),
                nonces: Nonces::default(),
                era_period: self.era_period,
                inclusion_timeout: self.inclusion_timeout,
                spec_version: AtomicU32::new(0),
            }),
        };
        // Reads the runtime once, so a node that cannot serve its metadata fails here.
        let at = chain.head().await?;
        tracing::info!(
            chain = %chain.inner.name,
            spec_version = at.spec_version(),
            block = at.block_number(),
            "connected to subtensor"
        );
        Ok(chain)
    }
}

/// The Bittensor chain: finney, testnet or any subtensor node. Cheap to clone; clones share
/// the connection, the metadata cache and the nonce counts.
#[derive(Debug, Clone)]
pub struct Subtensor {
    inner: Arc<Inner>,
}

struct Inner {
    client: OnlineClient<SubtensorConfig>,
    rpc: RpcClient,
    /// Our own WebSocket, when the client made it (not a transport handed in).
    transport: Option<Arc<WsTransport>>,
    name: String,
    genesis: H256,
    nonces: Nonces,
    era_period: u64,
    inclusion_timeout: Duration,
    /// The runtime version last seen, to notice upgrades.
    spec_version: AtomicU32,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subtensor")
            .field("chain", &self.name)
            .field(
                "endpoint",
                &self.transport.as_ref().map(|t| t.endpoint().to_owned()),
            )
            .field("genesis", &self.genesis)
            .finish_non_exhaustive()
    }
}

fn account_value(account: &AccountId) -> Value {
    Value::from_bytes(account.0)
}

fn netuid_value(netuid: NetUid) -> Value {
    Value::u128(u128::from(netuid.get()))
}

impl Subtensor {
    /// A builder; by default for a node on this machine (`ws://127.0.0.1:9944`).
    pub fn builder() -> SubtensorBuilder {
        SubtensorBuilder::default()
    }

    /// The endpoint in use now (it changes when one fails and the next takes over); `None` for
    /// a transport given to [`SubtensorBuilder::connect_with`].
    pub fn endpoint(&self) -> Option<String> {
        self.inner
            .transport
            .as_ref()
            .map(|t| t.endpoint().to_owned())
    }

    /// Submits any call of the runtime by name, its arguments in declaration order (what the
    /// [`Chain`] methods do not cover: chain-wide admin settings, identities, ...). Waits for
    /// the block; a failed dispatch is an error naming the pallet's error.
    pub async fn submit_call(
        &self,
        signer: &Keypair,
        pallet: &str,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Inclusion, ChainError> {
        let at = self.head().await?;
        let c = calls::call(pallet, name, args);
        let ctx = errors::CallContext {
            now: Block(at.block_number()),
            ..errors::CallContext::default()
        };
        Ok(self.submit(&at, signer, &c, &ctx).await?.inclusion)
    }

    /// Submits a call as root through `Sudo.sudo`, signed by the sudo key (dev and local
    /// chains). A failure of the inner call is an error, though the chain counts the
    /// extrinsic a success.
    pub async fn submit_sudo(
        &self,
        sudo_key: &Keypair,
        pallet: &str,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Inclusion, ChainError> {
        let at = self.head().await?;
        let ctx = errors::CallContext {
            now: Block(at.block_number()),
            ..errors::CallContext::default()
        };
        self.submit_as_root(&at, sudo_key, calls::call(pallet, name, args), &ctx)
            .await
    }

    /// Every validator's weights on `netuid` as the chain stores them (`Weights`), by uid:
    /// what the lite metagraph leaves out.
    pub async fn weights(&self, netuid: NetUid) -> Result<Vec<Vec<(Uid, u16)>>, ChainError> {
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        self.weights_in(&at, netuid).await
    }

    /// The `Weights` rows of every uid at `at`: one storage read per uid, several in flight.
    async fn weights_in(
        &self,
        at: &At,
        netuid: NetUid,
    ) -> Result<Vec<Vec<(Uid, u16)>>, ChainError> {
        /// Reads in flight at once: enough to hide a remote node's round trip, few enough not
        /// to look like a flood to a public endpoint.
        const IN_FLIGHT: usize = 16;
        let n = self
            .storage_u64(
                at,
                "SubtensorModule",
                "SubnetworkN",
                vec![netuid_value(netuid)],
                0,
            )
            .await?;
        futures::stream::iter(0..n)
            .map(|uid| async move {
                let row = self
                    .storage(
                        at,
                        "SubtensorModule",
                        "Weights",
                        vec![netuid_value(netuid), Value::u128(u128::from(uid))],
                    )
                    .await?;
                match row {
                    Some(v) => decode::seq(&v)
                        .and_then(|pairs| {
                            pairs
                                .iter()
                                .map(|p| match decode::seq(p)? {
                                    [u, w] => Ok((Uid(decode::u16_of(u)?), decode::u16_of(w)?)),
                                    _ => Err("a weight is (uid, weight)".to_owned()),
                                })
                                .collect()
                        })
                        .map_err(|e| malformed("SubtensorModule.Weights", e)),
                    None => Ok(Vec::new()),
                }
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Block `block` of the best chain, with its runtime, to read state as it stood then.
    async fn at_block(&self, block: Block) -> Result<At, ChainError> {
        let hash: Option<SubxtH256> = self
            .inner
            .rpc
            .request("chain_getBlockHash", rpc_params![block.0])
            .await
            .map_err(|e| errors::client(&e))?;
        let hash = hash.ok_or(ChainError::UnknownBlock { block })?;
        self.inner
            .client
            .at_block_hash_and_number(hash, block.0)
            .await
            .map_err(|e| errors::past_state(errors::client(&e), block))
    }

    /// The latest block and its runtime. A block with a new runtime version loads that
    /// runtime's metadata first: this is where upgrades are picked up.
    async fn head(&self) -> Result<At, ChainError> {
        let header: Option<SubstrateHeader<SubxtH256>> = self
            .inner
            .rpc
            .request("chain_getHeader", rpc_params![])
            .await
            .map_err(|e| errors::client(&e))?;
        let header = header.ok_or_else(|| ChainError::Connection {
            message: "the node has no best block".to_owned(),
        })?;
        let hash = SubxtH256(blake2_256(&header.encode()));
        let at = self
            .inner
            .client
            .at_block_hash_and_number(hash, header.number)
            .await
            .map_err(|e| errors::client(&e))?;
        let spec = at.spec_version();
        let before = self.inner.spec_version.swap(spec, Ordering::Relaxed);
        if before != 0 && before != spec {
            tracing::info!(
                from = before,
                to = spec,
                block = header.number,
                "the chain's runtime was upgraded"
            );
        }
        Ok(at)
    }

    /// Calls a runtime API by name; `None` if this runtime does not have it.
    async fn api(
        &self,
        at: &At,
        api: &str,
        method: &str,
        args: impl subxt::ext::frame_decode::runtime_apis::IntoEncodableValues + Send,
    ) -> Result<Option<Value>, ChainError> {
        let known = at
            .metadata_ref()
            .runtime_api_trait_by_name(api)
            .and_then(|t| t.method_by_name(method))
            .is_some();
        if !known {
            return Ok(None);
        }
        let payload = subxt::dynamic::runtime_api_call::<_, Value>(api, method, args);
        let value = at
            .runtime_apis()
            .call(payload)
            .await
            .map_err(|e| errors::client(&e))?;
        Ok(Some(value))
    }

    /// Reads a storage entry; `None` if the entry is empty (and has no default) or this
    /// runtime does not have it.
    async fn storage(
        &self,
        at: &At,
        pallet: &str,
        entry: &str,
        keys: Vec<Value>,
    ) -> Result<Option<Value>, ChainError> {
        let known = at
            .metadata_ref()
            .pallet_by_name(pallet)
            .and_then(|p| p.storage())
            .and_then(|s| s.entry_by_name(entry))
            .is_some();
        if !known {
            return Ok(None);
        }
        let what = format!("{pallet}.{entry}");
        match at.storage().fetch((pallet, entry), keys).await {
            Ok(value) => value.decode().map(Some).map_err(|e| malformed(&what, e)),
            Err(subxt::error::StorageError::NoValueFound) => Ok(None),
            Err(e) => Err(errors::client(&e)),
        }
    }

    /// A storage number, `default` when absent.
    async fn storage_u64(
        &self,
        at: &At,
        pallet: &str,
        entry: &str,
        keys: Vec<Value>,
        default: u64,
    ) -> Result<u64, ChainError> {
        match self.storage(at, pallet, entry, keys).await? {
            Some(v) => decode::u64_of(&v).map_err(|e| malformed(&format!("{pallet}.{entry}"), e)),
            None => Ok(default),
        }
    }

    /// Whether `netuid` exists at `at`.
    async fn subnet_exists(&self, at: &At, netuid: NetUid) -> Result<bool, ChainError> {
        Ok(
            match self
                .storage(
                    at,
                    "SubtensorModule",
                    "NetworksAdded",
                    vec![netuid_value(netuid)],
                )
                .await?
            {
                Some(v) => decode::boolean(&v).unwrap_or(false),
                None => false,
            },
        )
    }

    async fn require_subnet(&self, at: &At, netuid: NetUid) -> Result<(), ChainError> {
        if self.subnet_exists(at, netuid).await? {
            Ok(())
        } else {
            Err(ChainError::SubnetNotExists { netuid })
        }
    }

    /// `hotkey`'s uid on `netuid`, if registered.
    async fn uid_of(
        &self,
        at: &At,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Option<Uid>, ChainError> {
        self.storage(
            at,
            "SubtensorModule",
            "Uids",
            vec![netuid_value(netuid), account_value(&hotkey.0)],
        )
        .await?
        .map(|v| {
            decode::u16_of(&v)
                .map(Uid)
                .map_err(|e| malformed("SubtensorModule.Uids", e))
        })
        .transpose()
    }

    async fn hyperparameters_at(
        &self,
        at: &At,
        netuid: NetUid,
    ) -> Result<Hyperparameters, ChainError> {
        // The newest version the runtime has; one whose answer does not read as expected gives
        // way to the next (a layout not seen before must not cost the older ones).
        let mut unreadable = None;
        for method in [
            "get_subnet_hyperparams_v3",
            "get_subnet_hyperparams_v2",
            "get_subnet_hyperparams",
        ] {
            let Some(v) = self
                .api(at, "SubnetInfoRuntimeApi", method, (netuid.get(),))
                .await?
            else {
                continue;
            };
            if decode::is_none(&v) {
                return Err(ChainError::SubnetNotExists { netuid });
            }
            let mut h = match decode::hyperparameters(&v) {
                Ok(h) => h,
                Err(e) => {
                    tracing::debug!(method, error = %e, "trying an older hyperparameter API");
                    unreadable.get_or_insert(e);
                    continue;
                }
            };
            // Owner-facing switches the hyperparameter APIs leave out.
            if let Some(v) = self
                .storage(
                    at,
                    "SubtensorModule",
                    "CommitRevealWeightsEnabled",
                    vec![netuid_value(netuid)],
                )
                .await?
            {
                h.commit_reveal_weights_enabled =
                    decode::boolean(&v).unwrap_or(h.commit_reveal_weights_enabled);
            }
            return Ok(h);
        }
        Err(unreadable.unwrap_or_else(|| ChainError::Unsupported {
            what: "reading hyperparameters (the runtime has no get_subnet_hyperparams API)"
                .to_owned(),
        }))
    }

    /// Which positions of the runtime's selective metagraph hold `names`.
    fn selective_indexes(at: &At, method: &str, names: &[&str]) -> Option<Vec<u16>> {
        let md = at.metadata_ref();
        let output = md
            .runtime_api_trait_by_name("SubnetInfoRuntimeApi")?
            .method_by_name(method)?
            .output_ty();
        let types = md.types();
        let mut ty = types.resolve(output)?;
        // Option<SelectiveMetagraph>
        if let scale_info::TypeDef::Variant(v) = &ty.type_def
            && let Some(some) = v.variants.iter().find(|v| v.name == "Some")
        {
            ty = types.resolve(some.fields.first()?.ty.id)?;
        }
        let scale_info::TypeDef::Composite(c) = &ty.type_def else {
            return None;
        };
        let mut indexes: Vec<u16> = names
            .iter()
            .filter_map(|name| {
                c.fields
                    .iter()
                    .position(|f| f.name.as_deref() == Some(name))
            })
            .filter_map(|i| u16::try_from(i).ok())
            .collect();
        // The netuid (position 0) always comes back.
        indexes.insert(0, 0);
        indexes.dedup();
        Some(indexes)
    }

    /// The fields of the metagraph the neuron list lacks, from the most selective API the
    /// runtime has.
    async fn metagraph_extras(
        &self,
        at: &At,
        netuid: NetUid,
    ) -> Result<decode::MetagraphExtras, ChainError> {
        // What the neuron list lacks, and the subnet's settings (the metagraph carries them
        // under the hyperparameter API's names).
        const WANTED: [&str; 28] = [
            "block",
            "tempo",
            "last_step",
            "owner_hotkey",
            "owner_coldkey",
            "block_at_registration",
            "total_stake",
            "rho",
            "kappa",
            "min_allowed_weights",
            "max_weights_limit",
            "weights_version",
            "weights_rate_limit",
            "activity_cutoff",
            "max_validators",
            "max_uids",
            "registration_allowed",
            "immunity_period",
            "min_burn",
            "max_burn",
            "max_regs_per_block",
            "serving_rate_limit",
            "commit_reveal_weights_enabled",
            "commit_reveal_period",
            "liquid_alpha_enabled",
            "alpha_high",
            "alpha_low",
            "bonds_moving_avg",
        ];
        let answer = if let Some(idx) =
            Self::selective_indexes(at, "get_selective_mechagraph", &WANTED)
        {
            self.api(
                at,
                "SubnetInfoRuntimeApi",
                "get_selective_mechagraph",
                (netuid.get(), 0u8, idx),
            )
            .await?
        } else if let Some(idx) = Self::selective_indexes(at, "get_selective_metagraph", &WANTED) {
            self.api(
                at,
                "SubnetInfoRuntimeApi",
                "get_selective_metagraph",
                (netuid.get(), idx),
            )
            .await?
        } else {
            self.api(at, "SubnetInfoRuntimeApi", "get_metagraph", (netuid.get(),))
                .await?
        };
        match answer {
            Some(v) if decode::is_none(&v) => Err(ChainError::SubnetNotExists { netuid }),
            Some(v) => decode::metagraph_extras(&v),
            None => Ok(decode::MetagraphExtras::default()),
        }
    }

    /// The metagraph at block `at`.
    async fn metagraph_in(&self, at: &At, netuid: NetUid) -> Result<Metagraph, ChainError> {
        let extras = self.metagraph_extras(at, netuid).await?;
        let neurons = self
            .api(
                at,
                "NeuronInfoRuntimeApi",
                "get_neurons_lite",
                (netuid.get(),),
            )
            .await?
            .ok_or_else(|| ChainError::Unsupported {
                what: "reading neurons (the runtime has no get_neurons_lite API)".to_owned(),
            })?;
        let mut neurons = decode::seq(&neurons)
            .map_err(|e| malformed("get_neurons_lite", e))?
            .iter()
            .map(decode::neuron_lite)
            .collect::<Result<Vec<_>, _>>()?;
        neurons.sort_by_key(|n| n.uid);
        let hyperparameters = match extras.hyperparameters {
            Some(h) => h,
            None => self.hyperparameters_at(at, netuid).await?,
        };
        let n = neurons.len();
        let registered = extras
            .block_at_registration
            .filter(|v| v.len() == n)
            .unwrap_or_else(|| vec![Block(0); n]);
        let stake = extras
            .total_stake
            .filter(|v| v.len() == n)
            .unwrap_or_else(|| {
                neurons
                    .iter()
                    .map(|nr| {
                        nr.stake
                            .iter()
                            .fold(Balance::ZERO, |a, (_, s)| a.saturating_add(*s))
                    })
                    .collect()
            });
        let block = Block(at.block_number());
        let m = Metagraph {
            netuid,
            block,
            tempo: extras.tempo.unwrap_or(hyperparameters.tempo),
            last_step: extras.last_step.unwrap_or(Block(0)),
            owner_coldkey: extras.owner_coldkey,
            owner_hotkey: extras.owner_hotkey,
            uids: neurons.iter().map(|nr| nr.uid).collect(),
            hotkeys: neurons.iter().map(|nr| nr.hotkey).collect(),
            coldkeys: neurons.iter().map(|nr| nr.coldkey).collect(),
            stake,
            consensus: neurons.iter().map(|nr| nr.consensus).collect(),
            validator_trust: neurons.iter().map(|nr| nr.validator_trust).collect(),
            incentive: neurons.iter().map(|nr| nr.incentive).collect(),
            dividends: neurons.iter().map(|nr| nr.dividends).collect(),
            emission: neurons.iter().map(|nr| nr.emission).collect(),
            active: neurons.iter().map(|nr| nr.active).collect(),
            last_update: neurons.iter().map(|nr| nr.last_update).collect(),
            validator_permit: neurons.iter().map(|nr| nr.validator_permit).collect(),
            block_at_registration: registered,
            axons: neurons.iter().map(|nr| nr.axon.clone()).collect(),
            weights: vec![Vec::new(); n],
            bonds: vec![Vec::new(); n],
            hyperparameters,
        };
        m.validate().map_err(|e| malformed("the metagraph", e))?;
        Ok(m)
    }
}

#[async_trait]
impl Chain for Subtensor {
    async fn info(&self) -> Result<ChainInfo, ChainError> {
        let at = self.head().await?;
        let issuance = match self
            .storage(&at, "SubtensorModule", "TotalIssuance", vec![])
            .await?
        {
            Some(v) => Some(v),
            None => {
                self.storage(&at, "Balances", "TotalIssuance", vec![])
                    .await?
            }
        };
        let issuance = issuance
            .map(|v| decode::u64_of(&v).map_err(|e| malformed("TotalIssuance", e)))
            .transpose()?
            .unwrap_or(0);
        let emission = self
            .storage_u64(&at, "SubtensorModule", "BlockEmission", vec![], 0)
            .await?;
        let lock_cost = match self
            .api(
                &at,
                "SubnetRegistrationRuntimeApi",
                "get_network_registration_cost",
                (),
            )
            .await?
        {
            Some(v) => decode::u64_of(&v).map_err(|e| malformed("network registration cost", e))?,
            None => {
                self.storage_u64(&at, "SubtensorModule", "NetworkMinLockCost", vec![], 0)
                    .await?
            }
        };
        let sudo = self
            .storage(&at, "Sudo", "Key", vec![])
            .await?
            .map(|v| decode::account(&v).map_err(|e| malformed("Sudo.Key", e)))
            .transpose()?;
        Ok(ChainInfo {
            name: self.inner.name.clone(),
            spec_version: Some(at.spec_version()),
            genesis_hash: self.inner.genesis,
            best_block: Block(at.block_number()),
            best_hash: H256(at.block_hash().0),
            total_issuance: Balance::from_rao(issuance),
            block_emission: Balance::from_rao(emission),
            subnet_lock_cost: Balance::from_rao(lock_cost),
            sudo,
        })
    }

    async fn current_block(&self) -> Result<Block, ChainError> {
        let header: Option<SubstrateHeader<SubxtH256>> = self
            .inner
            .rpc
            .request("chain_getHeader", rpc_params![])
            .await
            .map_err(|e| errors::client(&e))?;
        header
            .map(|h| Block(h.number))
            .ok_or_else(|| ChainError::Connection {
                message: "the node has no best block".to_owned(),
            })
    }

    async fn block_headers(&self) -> Result<BoxStream<'static, BlockRef>, ChainError> {
        let blocks = self
            .inner
            .client
            .stream_best_blocks()
            .await
            .map_err(|e| errors::client(&e))?;
        Ok(futures::stream::unfold(blocks, |mut blocks| async move {
            match blocks.next().await {
                Some(Ok(block)) => {
                    let r = BlockRef {
                        number: Block(block.number()),
                        hash: H256(block.hash().0),
                    };
                    Some((r, blocks))
                }
                // The subscription failed or ended: the stream ends and the caller subscribes
                // again (to whichever endpoint is up).
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "the block subscription ended");
                    None
                }
                None => None,
            }
        })
        .boxed())
    }

    async fn balance(&self, account: &AccountId) -> Result<Balance, ChainError> {
        let at = self.head().await?;
        match self
            .storage(&at, "System", "Account", vec![account_value(account)])
            .await?
        {
            Some(v) => decode::free_balance(&v),
            None => Ok(Balance::ZERO),
        }
    }

    async fn subnets(&self) -> Result<Vec<SubnetInfo>, ChainError> {
        let at = self.head().await?;
        let now = Block(at.block_number());
        let infos = self
            .api(&at, "SubnetInfoRuntimeApi", "get_subnets_info", ())
            .await?;
        let dynamics = self
            .api(&at, "SubnetInfoRuntimeApi", "get_all_dynamic_info", ())
            .await?;
        let by_netuid =
            |list: &Option<Value>, what: &str| -> Result<Vec<(u16, Value)>, ChainError> {
                let Some(list) = list else {
                    return Ok(Vec::new());
                };
                decode::seq(list)
                    .map_err(|e| malformed(what, e))?
                    .iter()
                    .filter(|v| !decode::is_none(v))
                    .map(|v| {
                        let f = decode::Fields::of(what, v)?;
                        Ok((f.u16("netuid")?, v.clone()))
                    })
                    .collect()
            };
        let infos = by_netuid(&infos, "SubnetInfo")?;
        let dynamics = by_netuid(&dynamics, "DynamicInfo")?;
        let mut netuids: Vec<u16> = infos.iter().chain(&dynamics).map(|(n, _)| *n).collect();
        netuids.sort_unstable();
        netuids.dedup();
        netuids
            .into_iter()
            .map(|n| {
                let info = infos.iter().find(|(m, _)| *m == n).map(|(_, v)| v);
                let dynamic = dynamics.iter().find(|(m, _)| *m == n).map(|(_, v)| v);
                decode::subnet_info(NetUid(n), info, dynamic, now)
            })
            .collect()
    }

    async fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, ChainError> {
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        let now = Block(at.block_number());
        let info = self
            .api(
                &at,
                "SubnetInfoRuntimeApi",
                "get_subnet_info",
                (netuid.get(),),
            )
            .await?
            .filter(|v| !decode::is_none(v));
        let dynamic = self
            .api(
                &at,
                "SubnetInfoRuntimeApi",
                "get_dynamic_info",
                (netuid.get(),),
            )
            .await?
            .filter(|v| !decode::is_none(v));
        let mut subnet = decode::subnet_info(netuid, info.as_ref(), dynamic.as_ref(), now)?;
        subnet.epoch_index = self
            .storage_u64(
                &at,
                "SubtensorModule",
                "SubnetEpochIndex",
                vec![netuid_value(netuid)],
                0,
            )
            .await?;
        if let Some(v) = self
            .storage(
                &at,
                "SubtensorModule",
                "SubtokenEnabled",
                vec![netuid_value(netuid)],
            )
            .await?
        {
            subnet.emission_enabled = decode::boolean(&v).unwrap_or(true);
        }
        Ok(subnet)
    }

    async fn metagraph(&self, netuid: NetUid) -> Result<Metagraph, ChainError> {
        let at = self.head().await?;
        self.metagraph_in(&at, netuid).await
    }

    async fn metagraph_at(&self, netuid: NetUid, block: Block) -> Result<Metagraph, ChainError> {
        let at = self.at_block(block).await?;
        self.metagraph_in(&at, netuid)
            .await
            .map_err(|e| errors::past_state(e, block))
    }

    async fn metagraph_with_weights(
        &self,
        netuid: NetUid,
        block: Option<Block>,
    ) -> Result<Metagraph, ChainError> {
        let at = match block {
            Some(block) => self.at_block(block).await?,
            None => self.head().await?,
        };
        let past = |e| match block {
            Some(block) => errors::past_state(e, block),
            None => e,
        };
        let (metagraph, weights) =
            futures::future::try_join(self.metagraph_in(&at, netuid), self.weights_in(&at, netuid))
                .await
                .map_err(past)?;
        if weights.len() != metagraph.n() {
            return Err(malformed(
                "SubtensorModule.Weights",
                format!("{} rows for {} neurons", weights.len(), metagraph.n()),
            ));
        }
        Ok(Metagraph {
            weights,
            ..metagraph
        })
    }

    async fn hyperparameters(&self, netuid: NetUid) -> Result<Hyperparameters, ChainError> {
        let at = self.head().await?;
        self.require_subnet(&at, netuid).await?;
        self.hyperparameters_at(&at, netuid).await
    }

    async fn stakes(&self, coldkey: &Coldkey) -> Result<Vec<StakeInfo>, ChainError> {
        let at = self.head().await?;
        let list = self
            .api(
                &at,
                "StakeInfoRuntimeApi",
                "get_stake_info_for_coldkey",
                (AccountId32(coldkey.0.0),),
            )
            .await?
            .ok_or_else(|| ChainError::Unsupported {
                what: "reading stake (the runtime has no get_stake_info_for_coldkey API)"
                    .to_owned(),
            })?;
        decode::seq(&list)
            .map_err(|e| malformed("get_stake_info_for_coldkey", e))?
            .iter()
            .map(decode::stake_info)
            .filter(|s| s.as_ref().map_or(true, |s| !s.stake.is_zero()))
            .collect()
    }

    async fn registrations(&self, hotkey: &Hotkey) -> Result<Vec<(NetUid, Uid)>, ChainError> {
        let at = self.head().await?;
        // `IsNetworkMember(hotkey, netuid)`: the subnets a hotkey is on, keyed by hotkey first.
        let mut entries = match at
            .storage()
            .iter(
                ("SubtensorModule", "IsNetworkMember"),
                vec![account_value(&hotkey.0)],
            )
            .await
        {
            Ok(entries) => entries,
            Err(e) => return Err(errors::client(&e)),
        };
        let mut netuids = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry.map_err(|e| errors::client(&e))?;
            let member = entry
                .value()
                .decode()
                .map_err(|e| malformed("SubtensorModule.IsNetworkMember", e))?;
            if !decode::boolean(&member).unwrap_or(false) {
                continue;
            }
            let keys = entry
                .key()
                .map_err(|e| malformed("SubtensorModule.IsNetworkMember key", e))?;
            let netuid = keys
                .part(1)
                .and_then(|k| k.decode_as::<u16>().ok().flatten())
                .ok_or_else(|| malformed("SubtensorModule.IsNetworkMember key", "no netuid"))?;
            netuids.push(NetUid(netuid));
        }
        netuids.sort_unstable();
        let mut out = Vec::new();
        for netuid in netuids {
            if let Some(uid) = self.uid_of(&at, netuid, hotkey).await? {
                out.push((netuid, uid));
            }
        }
        Ok(out)
    }

    async fn transfer(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        self.transfer_keep_alive(from, to, amount).await
    }

    async fn create_subnet(&self, owner: &Keypair, hotkey: &Hotkey) -> Result<NetUid, ChainError> {
        self.register_network(owner, hotkey).await
    }

    async fn set_hyperparameter(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Inclusion, ChainError> {
        self.admin_set(owner, netuid, name, value).await
    }

    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError> {
        self.burned_register(coldkey, netuid, hotkey).await
    }

    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Inclusion, ChainError> {
        self.serve(hotkey, netuid, axon).await
    }

    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        self.stake(coldkey, hotkey, netuid, amount, true).await
    }

    async fn remove_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        self.stake(coldkey, hotkey, netuid, amount, false).await
    }

    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        weights: &Weights,
    ) -> Result<WeightsOutcome, ChainError> {
        self.put_weights(hotkey, netuid, weights).await
    }

    async fn reveal_weights(
        &self,
        _hotkey: &Keypair,
        _netuid: NetUid,
        _pending: &PendingReveal,
    ) -> Result<RevealStatus, ChainError> {
        // Commits here are timelocked: the chain reveals them itself.
        Err(ChainError::Unsupported {
            what: "revealing weights by hand (the chain reveals timelocked commits itself)"
                .to_owned(),
        })
    }
}
