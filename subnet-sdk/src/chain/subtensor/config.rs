//! How subxt sees the Bittensor chain: its account, address, signature and header types, a
//! metadata cache per runtime version, and our sr25519 keys as subxt signers.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use subforge_core::identity::Keypair;
use subxt::ArcMetadata;
use subxt::config::substrate::{BlakeTwo256, SubstrateHeader};
use subxt::config::{Config, DefaultTransactionExtensions, HashFor};
use subxt::utils::{AccountId32, H256, MultiAddress, MultiSignature};

/// Runtime versions whose metadata stays cached; the chain upgrades a few times a month, so
/// this covers any process's lifetime several times over without growing for ever.
const CACHED_RUNTIMES: usize = 4;

/// The Bittensor chain's types for subxt. Clones share one metadata cache.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubtensorConfig {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    genesis_hash: Option<H256>,
    /// Set only for offline use: the one runtime every block is taken to run.
    fixed_versions: Option<(u32, u32)>,
    metadata: RwLock<BTreeMap<u32, ArcMetadata>>,
}

impl SubtensorConfig {
    /// For a live chain: the genesis hash is known from connecting; runtime versions and
    /// metadata are asked of the node per block (that is how runtime upgrades are seen).
    pub(crate) fn online(genesis_hash: H256) -> Self {
        Self {
            inner: Arc::new(Inner {
                genesis_hash: Some(genesis_hash),
                ..Inner::default()
            }),
        }
    }

    /// For encoding and decoding with no node: one runtime, given in full.
    #[cfg(test)]
    pub(crate) fn offline(
        genesis_hash: H256,
        spec_version: u32,
        transaction_version: u32,
        metadata: subxt::Metadata,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                genesis_hash: Some(genesis_hash),
                fixed_versions: Some((spec_version, transaction_version)),
                metadata: RwLock::new(BTreeMap::from([(spec_version, Arc::new(metadata))])),
            }),
        }
    }
}

impl Config for SubtensorConfig {
    type AccountId = AccountId32;
    type Address = MultiAddress<AccountId32, ()>;
    type Signature = MultiSignature;
    type Hasher = BlakeTwo256;
    type Header = SubstrateHeader<H256>;
    type TransactionExtensions = DefaultTransactionExtensions<Self>;
    // Subtensor charges fees in TAO only; no asset ever pays.
    type AssetId = u32;

    fn genesis_hash(&self) -> Option<HashFor<Self>> {
        self.inner.genesis_hash
    }

    fn spec_and_transaction_version_for_block_number(&self, _block: u64) -> Option<(u32, u32)> {
        self.inner.fixed_versions
    }

    fn metadata_for_spec_version(&self, spec_version: u32) -> Option<ArcMetadata> {
        let cache = self
            .inner
            .metadata
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        cache.get(&spec_version).cloned()
    }

    fn set_metadata_for_spec_version(&self, spec_version: u32, metadata: ArcMetadata) {
        let mut cache = self
            .inner
            .metadata
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        cache.insert(spec_version, metadata);
        // Runtimes only move forward: drop the oldest.
        while cache.len() > CACHED_RUNTIMES {
            cache.pop_first();
        }
    }
}

/// One of our keypairs signing for subxt. subxt hands over the final payload (already hashed
/// when longer than 256 bytes), which sr25519 signs in the `substrate` context, as every
/// Substrate chain expects.
pub(crate) struct KeypairSigner<'a>(pub(crate) &'a Keypair);

impl subxt::tx::Signer<SubtensorConfig> for KeypairSigner<'_> {
    fn account_id(&self) -> AccountId32 {
        AccountId32(self.0.public().0)
    }

    fn sign(&self, payload: &[u8]) -> MultiSignature {
        MultiSignature::Sr25519(self.0.sign(payload).0)
    }
}
