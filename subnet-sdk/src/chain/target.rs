//! Naming a chain to connect to: the Bittensor networks by the Python SDK's names, a node's
//! WebSocket URL, or a local chain folder; and [`connect`], which opens the right [`Chain`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::Chain;
use super::error::ChainError;
use super::local::LocalChain;
use super::node::NodeClient;

/// The environment variable that names the chain when `--chain` is not given.
pub const ENV_CHAIN: &str = "SUBFORGE_CHAIN";

/// A public Bittensor network, named as the Python SDK and `btcli` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// The main network.
    Finney,
    /// The test network (test TAO, same software).
    Test,
    /// Finney through archive nodes, which keep every block's state.
    Archive,
    /// A node on this machine (`ws://127.0.0.1:9944`): a subtensor node, or `subforge node`.
    Local,
    /// Finney through Latent's lite nodes.
    LatentLite,
}

impl Network {
    /// Every network, in the order `--help` lists them.
    pub const ALL: [Self; 5] = [
        Self::Finney,
        Self::Test,
        Self::Archive,
        Self::Local,
        Self::LatentLite,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Finney => "finney",
            Self::Test => "test",
            Self::Archive => "archive",
            Self::Local => "local",
            Self::LatentLite => "latent-lite",
        }
    }

    /// The public endpoints, tried in order (the Python SDK's entry points).
    pub fn endpoints(self) -> &'static [&'static str] {
        match self {
            Self::Finney => &["wss://entrypoint-finney.opentensor.ai:443"],
            Self::Test => &["wss://test.finney.opentensor.ai:443"],
            Self::Archive => &["wss://archive.chain.opentensor.ai:443"],
            Self::Local => &["ws://127.0.0.1:9944"],
            Self::LatentLite => &["wss://lite.sub.latent.to:443"],
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which chain to talk to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChainTarget {
    /// A public network by name.
    Network(Network),
    /// Nodes by URL (`ws://` or `wss://`), tried in order; each may be a subtensor node or
    /// `subforge node` (told apart when connecting).
    Urls(Vec<String>),
    /// A local chain folder, opened in this process; each extrinsic makes a block at once.
    Folder(PathBuf),
}

/// Why text does not name a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` names no chain: expected finney, test, archive, local, latent-lite, \
     ws://HOST:PORT, wss://HOST:PORT (several separated by commas) or local:DIR"
)]
pub struct UnknownChain(pub String);

impl FromStr for ChainTarget {
    type Err = UnknownChain;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some(network) = Network::ALL.into_iter().find(|n| n.name() == text) {
            return Ok(Self::Network(network));
        }
        if let Some(dir) = text.strip_prefix("local:") {
            if dir.is_empty() {
                return Err(UnknownChain(s.to_owned()));
            }
            return Ok(Self::Folder(PathBuf::from(dir)));
        }
        let urls: Vec<String> = text.split(',').map(|u| u.trim().to_owned()).collect();
        let valid = |u: &String| {
            let rest = u.strip_prefix("ws://").or_else(|| u.strip_prefix("wss://"));
            rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
        };
        if urls.iter().all(valid) {
            return Ok(Self::Urls(urls));
        }
        Err(UnknownChain(s.to_owned()))
    }
}

impl fmt::Display for ChainTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(n) => write!(f, "{n}"),
            Self::Urls(urls) => f.write_str(&urls.join(",")),
            Self::Folder(dir) => write!(f, "local:{}", dir.display()),
        }
    }
}

impl ChainTarget {
    /// The URLs to try, for targets reached over the network.
    pub fn urls(&self) -> Vec<String> {
        match self {
            Self::Network(n) => n.endpoints().iter().map(|u| (*u).to_owned()).collect(),
            Self::Urls(urls) => urls.clone(),
            Self::Folder(_) => Vec::new(),
        }
    }
}

/// Opens the chain `target` names. A URL is asked which protocol it speaks: a
/// `subforge node` answers its own `chain_info` method and gets a [`NodeClient`]; anything
/// else is taken for a subtensor node (with the `subtensor` feature).
pub async fn connect(target: &ChainTarget) -> Result<Arc<dyn Chain>, ChainError> {
    if let ChainTarget::Folder(dir) = target {
        let chain = LocalChain::builder().path(dir).dev().instant().open()?;
        return Ok(Arc::new(chain));
    }
    let urls = target.urls();
    let first = urls.first().ok_or_else(|| ChainError::Connection {
        message: format!("{target} names no endpoint"),
    })?;
    // The public networks run subtensor; elsewhere the first URL decides (a subforge node is
    // one process at one address).
    let public = matches!(
        target,
        ChainTarget::Network(
            Network::Finney | Network::Test | Network::Archive | Network::LatentLite
        )
    );
    if !public && NodeClient::is_node(first).await? {
        return Ok(Arc::new(NodeClient::connect(first).await?));
    }
    connect_subtensor(&urls).await
}

#[cfg(feature = "subtensor")]
async fn connect_subtensor(urls: &[String]) -> Result<Arc<dyn Chain>, ChainError> {
    let chain = super::subtensor::Subtensor::builder()
        .endpoints(urls.iter().cloned())
        .connect()
        .await?;
    Ok(Arc::new(chain))
}

#[cfg(not(feature = "subtensor"))]
async fn connect_subtensor(urls: &[String]) -> Result<Arc<dyn Chain>, ChainError> {
    Err(ChainError::Connection {
        message: format!(
            "{} is not a subforge node, and this build has no subtensor client \
             (enable the `subtensor` feature)",
            urls.join(",")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_folders_parse() {
        assert_eq!(
            "finney".parse::<ChainTarget>(),
            Ok(ChainTarget::Network(Network::Finney))
        );
        assert_eq!(
            " test ".parse::<ChainTarget>(),
            Ok(ChainTarget::Network(Network::Test))
        );
        assert_eq!(
            "ws://127.0.0.1:9944".parse::<ChainTarget>(),
            Ok(ChainTarget::Urls(vec!["ws://127.0.0.1:9944".into()]))
        );
        assert_eq!(
            "wss://a:443, wss://b:443".parse::<ChainTarget>(),
            Ok(ChainTarget::Urls(vec![
                "wss://a:443".into(),
                "wss://b:443".into()
            ]))
        );
        assert_eq!(
            "local:/tmp/chain".parse::<ChainTarget>(),
            Ok(ChainTarget::Folder("/tmp/chain".into()))
        );
        for bad in [
            "",
            "mainnet",
            "http://x:1",
            "ws://",
            "local:",
            "ws://a b:1",
            "wss://a,",
        ] {
            assert!(bad.parse::<ChainTarget>().is_err(), "{bad:?}");
        }
        assert_eq!(
            ChainTarget::Network(Network::Finney).urls(),
            ["wss://entrypoint-finney.opentensor.ai:443"]
        );
        let shown = ChainTarget::Folder("d".into()).to_string();
        assert_eq!(shown.parse::<ChainTarget>().unwrap().to_string(), shown);
    }
}
