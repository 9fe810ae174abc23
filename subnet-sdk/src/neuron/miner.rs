//! The miner runtime: registered hotkey, axon serving the subnet's tasks, axon record on chain,
//! metagraph followed every block, clean shutdown.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::StreamExt;
use subforge_core::chain::AxonProtocol;
use subforge_core::identity::Keypair;
use subforge_core::{AxonInfo, Block, Hotkey, Metagraph, NetUid, Uid};
use tokio::sync::watch;

use super::error::NeuronError;
use crate::chain::{Chain, ChainError};
use crate::net::{Axon, AxonBuilder, AxonLimits};
use crate::sync::MetagraphSync;

/// How a miner runs.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// The subnet to mine on.
    pub netuid: NetUid,
    /// Where the axon listens. Default `0.0.0.0:8091`, the Python SDK's port.
    pub bind: SocketAddr,
    /// The IP published on chain. Default: the bind IP when it is a specific address; never
    /// looked up on the internet.
    pub external_ip: Option<IpAddr>,
    /// The port published on chain. Default: the port actually bound.
    pub external_port: Option<u16>,
    /// Register the hotkey (burning from the coldkey) if it holds no uid.
    pub register: bool,
    /// The axon's limits.
    pub limits: AxonLimits,
}

impl MinerConfig {
    /// The defaults for `netuid`.
    pub fn new(netuid: NetUid) -> Self {
        Self {
            netuid,
            bind: SocketAddr::from(([0, 0, 0, 0], 8091)),
            external_ip: None,
            external_port: None,
            register: false,
            limits: AxonLimits::default(),
        }
    }
}

/// A miner about to start. See [`Miner::start`].
pub struct Miner {
    chain: Arc<dyn Chain>,
    hotkey: Keypair,
    coldkey: Option<Keypair>,
    config: MinerConfig,
}

/// A miner that is serving. Stops with [`RunningMiner::shutdown`] or when dropped.
#[derive(Debug)]
pub struct RunningMiner {
    uid: Uid,
    hotkey: Hotkey,
    axon: Axon,
    sync: MetagraphSync,
    published: AxonInfo,
    /// Publishes the axon record later when the chain's rate limit refused it at start.
    publisher: Option<tokio::task::JoinHandle<()>>,
}

/// The version a Subforge neuron publishes: `major·10⁶ + minor·10³ + patch`.
pub fn version_as_int() -> u32 {
    let mut parts = env!("CARGO_PKG_VERSION")
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    major * 1_000_000 + minor * 1_000 + patch
}

impl std::fmt::Debug for Miner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Miner")
            .field("hotkey", &self.hotkey.public())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Miner {
    /// A miner for `hotkey` on `chain`.
    pub fn new(chain: Arc<dyn Chain>, hotkey: Keypair, config: MinerConfig) -> Self {
        Self {
            chain,
            hotkey,
            coldkey: None,
            config,
        }
    }

    /// The coldkey that pays for registration when [`MinerConfig::register`] is set.
    pub fn with_coldkey(mut self, coldkey: Keypair) -> Self {
        self.coldkey = Some(coldkey);
        self
    }

    /// Registers if needed and asked, binds the axon with the handlers `serve` adds, publishes
    /// the axon on chain (only when the record differs, so restarts cost no extrinsic) and
    /// starts following the metagraph.
    pub async fn start(
        self,
        serve: impl FnOnce(AxonBuilder) -> AxonBuilder,
    ) -> Result<RunningMiner, NeuronError> {
        let netuid = self.config.netuid;
        let hotkey = Hotkey(self.hotkey.public());
        let chain = self.chain;

        let mut metagraph = chain.metagraph(netuid).await?;
        let uid = match metagraph.uid_of(&hotkey) {
            Some(uid) => uid,
            None if self.config.register => {
                let coldkey = self
                    .coldkey
                    .as_ref()
                    .ok_or(NeuronError::NoColdkey { hotkey })?;
                let uid = chain.register(coldkey, netuid, &hotkey).await?;
                tracing::info!(%netuid, %uid, %hotkey, "registered");
                metagraph = chain.metagraph(netuid).await?;
                uid
            }
            None => return Err(NeuronError::NotRegistered { hotkey, netuid }),
        };

        let sync = MetagraphSync::start(chain.clone(), netuid).await?;
        let axon = serve(
            Axon::builder(self.hotkey.clone())
                .metagraph(sync.subscribe())
                .limits(self.config.limits.clone()),
        )
        .bind(self.config.bind)
        .await?;
        let local = axon.local_addr();
        let ip = match self.config.external_ip {
            Some(ip) => ip,
            None if !local.ip().is_unspecified() => local.ip(),
            None => return Err(NeuronError::NoExternalIp { bind: local }),
        };
        let published = AxonInfo {
            block: metagraph.block,
            version: version_as_int(),
            ip,
            port: self.config.external_port.unwrap_or(local.port()),
            protocol: AxonProtocol::HTTP,
            placeholder1: 0,
            placeholder2: 0,
        };
        let current = metagraph.axons.get(uid.index());
        let same = current.is_some_and(|a| {
            a.ip == published.ip && a.port == published.port && a.version == published.version
        });
        let mut publisher = None;
        if !same {
            match chain.serve_axon(&self.hotkey, netuid, &published).await {
                Ok(_) => {
                    tracing::info!(%netuid, %uid, addr = %SocketAddr::new(ip, published.port), "axon published");
                }
                // A restart soon after the last update: serve now, publish when the chain allows.
                Err(ChainError::ServingRateLimitExceeded { last, limit, .. }) => {
                    let at = last.saturating_add(limit);
                    tracing::warn!(%netuid, %uid, publish_at = %at, "the chain limits axon updates; the new address is published later");
                    publisher = Some(tokio::spawn(publish_later(
                        chain.clone(),
                        self.hotkey.clone(),
                        netuid,
                        published.clone(),
                        at,
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(%netuid, %uid, %hotkey, listen = %local, "miner serving");
        Ok(RunningMiner {
            uid,
            hotkey,
            axon,
            sync,
            published,
            publisher,
        })
    }
}

/// Publishes `axon` once the chain's serving rate limit has passed (at block `at`), trying
/// again whenever the chain names a later block.
async fn publish_later(
    chain: Arc<dyn Chain>,
    hotkey: Keypair,
    netuid: NetUid,
    axon: AxonInfo,
    mut at: Block,
) {
    let mut headers = match chain.block_headers().await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot follow blocks; the axon address stays unpublished");
            return;
        }
    };
    while let Some(header) = headers.next().await {
        if header.number < at {
            continue;
        }
        match chain.serve_axon(&hotkey, netuid, &axon).await {
            Ok(receipt) => {
                tracing::info!(%netuid, block = %receipt.block, port = axon.port, "axon published");
                return;
            }
            Err(ChainError::ServingRateLimitExceeded { last, limit, .. }) => {
                at = last.saturating_add(limit);
            }
            Err(e) => {
                tracing::error!(error = %e, "publishing the axon failed");
                return;
            }
        }
    }
}

impl RunningMiner {
    /// The miner's uid.
    pub fn uid(&self) -> Uid {
        self.uid
    }

    /// The miner's hotkey.
    pub fn hotkey(&self) -> Hotkey {
        self.hotkey
    }

    /// Where the axon listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.axon.local_addr()
    }

    /// What was published on chain.
    pub fn published(&self) -> &AxonInfo {
        &self.published
    }

    /// The metagraph as it is followed.
    pub fn metagraph(&self) -> watch::Receiver<Metagraph> {
        self.sync.subscribe()
    }

    /// Serves until `shutdown` completes (e.g. [`super::shutdown_signal`]), or until the hotkey
    /// loses its uid (pruned), then stops the axon.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), NeuronError> {
        let mut metagraph = self.sync.subscribe();
        let hotkey = self.hotkey;
        let deregistered = async move {
            loop {
                if metagraph.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
                if metagraph.borrow().uid_of(&hotkey).is_none() {
                    return;
                }
            }
        };
        let outcome = tokio::select! {
            () = shutdown => Ok(()),
            () = deregistered => {
                let netuid = self.sync.latest().netuid;
                tracing::warn!(%netuid, %hotkey, "the hotkey was deregistered");
                Err(NeuronError::NotRegistered { hotkey, netuid })
            }
        };
        self.shutdown().await;
        outcome
    }

    /// Stops accepting, closes every connection and stops following the chain.
    pub async fn shutdown(self) {
        if let Some(p) = &self.publisher {
            p.abort();
        }
        self.axon.shutdown().await;
        drop(self.sync);
        tracing::info!(uid = %self.uid, "miner stopped");
    }
}
