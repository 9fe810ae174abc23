//! Shared setup for the chain tests: dev keys, subnets tuned for fast tests, neurons.

use subforge_core::identity::Keypair;
use subforge_core::{Balance, Hotkey, NetUid, Uid};
pub(crate) use subforge_sdk::chain::LocalChainApi;
use subforge_sdk::chain::local::{Call, Receipt};
use subforge_sdk::chain::{Chain, ChainError, H256, Hyperparameter, LocalChain};

pub(crate) fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

pub(crate) fn alice() -> Keypair {
    key("//Alice")
}

pub(crate) fn bob() -> Keypair {
    key("//Bob")
}

pub(crate) fn charlie() -> Keypair {
    key("//Charlie")
}

pub(crate) fn hot(kp: &Keypair) -> Hotkey {
    Hotkey(kp.public())
}

/// An in-memory dev chain where every extrinsic makes a block.
pub(crate) fn instant() -> LocalChain {
    LocalChain::builder().instant().open().unwrap()
}

/// An in-memory dev chain with blocks only by hand.
pub(crate) fn manual() -> LocalChain {
    LocalChain::builder().manual().open().unwrap()
}

/// Sets a hyperparameter with the sudo key (`//Alice`).
pub(crate) async fn sudo(chain: &LocalChain, netuid: NetUid, name: Hyperparameter, value: i64) {
    chain
        .set_hyperparameter(&alice(), netuid, name, value)
        .await
        .unwrap();
}

/// A subnet owned by `//Alice` with owner hotkey `//Alice//owner` as uid 0.
pub(crate) async fn subnet(chain: &LocalChain) -> NetUid {
    chain
        .create_subnet(&alice(), &hot(&key("//Alice//owner")))
        .await
        .unwrap()
}

/// A subnet for fast tests: tempo `tempo`, no weights rate limit, commit-reveal off,
/// 255 registrations per block.
pub(crate) async fn fast_subnet(chain: &LocalChain, tempo: i64) -> NetUid {
    let netuid = subnet(chain).await;
    sudo(chain, netuid, Hyperparameter::Tempo, tempo).await;
    sudo(chain, netuid, Hyperparameter::WeightsSetRateLimit, 0).await;
    sudo(chain, netuid, Hyperparameter::CommitRevealWeightsEnabled, 0).await;
    sudo(chain, netuid, Hyperparameter::MaxRegsPerBlock, 255).await;
    netuid
}

/// Registers `hotkey` with `coldkey` paying.
pub(crate) async fn register(
    chain: &LocalChain,
    coldkey: &Keypair,
    netuid: NetUid,
    hotkey: &Keypair,
) -> Uid {
    chain.register(coldkey, netuid, &hot(hotkey)).await.unwrap()
}

/// Runs blocks until the subnet's next epoch has run.
pub(crate) async fn run_epoch(chain: &LocalChain, netuid: NetUid) {
    let start = epoch_index(chain, netuid).await;
    for _ in 0..100_000 {
        chain.produce_block().unwrap();
        if epoch_index(chain, netuid).await > start {
            return;
        }
    }
    panic!("no epoch ran");
}

pub(crate) async fn epoch_index(chain: &LocalChain, netuid: NetUid) -> u64 {
    chain.subnet(netuid).await.unwrap().epoch_index
}

pub(crate) fn tao(n: u64) -> Balance {
    Balance::from_tao(n)
}

/// Asserts an error variant by name.
#[track_caller]
pub(crate) fn assert_rule<T: std::fmt::Debug>(
    result: Result<T, ChainError>,
    rule: &str,
) -> ChainError {
    match result {
        Ok(v) => panic!("expected {rule}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.name(), rule, "{e}");
            e
        }
    }
}

/// Produces a block once `n` extrinsics wait in the pool (for calls spawned on a manual chain).
pub(crate) async fn produce_when(chain: &LocalChain, n: usize) {
    while chain.pool_len() < n {
        tokio::task::yield_now().await;
    }
    chain.produce_block().unwrap();
}

/// The local chain's weights calls one by one, as extrinsics, to test each rule on its own
/// (the [`Chain`] seam picks set or commit itself).
pub(crate) async fn set_weights_call(
    chain: &LocalChain,
    hotkey: &Keypair,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    version_key: u64,
) -> Result<Receipt, ChainError> {
    let call = Call::SetWeights {
        netuid,
        uids: uids.to_vec(),
        weights: weights.to_vec(),
        version_key,
    };
    chain.sign_and_submit(hotkey, call).await
}

/// `commit_weights` as one extrinsic.
pub(crate) async fn commit_weights_call(
    chain: &LocalChain,
    hotkey: &Keypair,
    netuid: NetUid,
    commit_hash: H256,
) -> Result<Receipt, ChainError> {
    let call = Call::CommitWeights {
        netuid,
        commit_hash,
    };
    chain.sign_and_submit(hotkey, call).await
}

/// `reveal_weights` as one extrinsic.
pub(crate) async fn reveal_weights_call(
    chain: &LocalChain,
    hotkey: &Keypair,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Result<Receipt, ChainError> {
    let call = Call::RevealWeights {
        netuid,
        uids: uids.to_vec(),
        weights: weights.to_vec(),
        salt: salt.to_vec(),
        version_key,
    };
    chain.sign_and_submit(hotkey, call).await
}
