//! Durable state in redb: each block is one write transaction holding the block's state changes,
//! the block record, its extrinsic index and the new head, so a crash loses nothing committed.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::runtime::AppliedBlock;
use super::state::State;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::local::codec::{Decode, Encode};
use crate::chain::local::records::{BlockRecord, Header};

/// Full storage key → encoded value.
const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
/// Block number → encoded block record.
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Extrinsic hash → (block number, index).
const EXTRINSICS: TableDefinition<'_, &[u8; 32], (u64, u32)> = TableDefinition::new("extrinsics");
/// `head` → encoded header; `genesis` → genesis hash.
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// The database file inside a chain's base path.
pub const DB_FILE: &str = "chain.redb";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption, or the database is open in another process).
    #[error("{path}: {source}")]
    Redb {
        /// The database file.
        path: PathBuf,
        /// The error.
        source: redb::Error,
    },
    /// The folder could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A stored value does not decode.
    #[error("{path}: corrupt {what}: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which record.
        what: &'static str,
        /// The decode error.
        reason: String,
    },
    /// The reloaded state does not hash to the digest the head block recorded.
    #[error("{path}: the state digest is {computed} but block {block} recorded {stored}")]
    DigestMismatch {
        /// The database file.
        path: PathBuf,
        /// The head block.
        block: u64,
        /// What the header says.
        stored: H256,
        /// What the state hashes to.
        computed: H256,
    },
}

impl From<StoreError> for ChainError {
    fn from(e: StoreError) -> Self {
        ChainError::Store {
            message: e.to_string(),
        }
    }
}

/// What reopening a chain folder finds.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) state: State,
    pub(crate) head: Header,
    pub(crate) genesis_hash: H256,
}

/// A chain's redb database.
#[derive(Debug)]
pub(crate) struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let db = Database::create(&path).map_err(|e| StoreError::Redb {
            path: path.clone(),
            source: e.into(),
        })?;
        let store = Self { db, path };
        let txn = store.db.begin_write().map_err(|e| store.err(e))?;
        {
            txn.open_table(STATE).map_err(|e| store.err(e))?;
            txn.open_table(BLOCKS).map_err(|e| store.err(e))?;
            txn.open_table(EXTRINSICS).map_err(|e| store.err(e))?;
            txn.open_table(META).map_err(|e| store.err(e))?;
        }
        txn.commit().map_err(|e| store.err(e))?;
        Ok(store)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Redb {
            path: self.path.clone(),
            source: e.into(),
        }
    }

    fn corrupt(&self, what: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            reason: reason.to_string(),
        }
    }

    /// The state at the last committed block, checked against that block's digest; `None` for
    /// a new database.
    pub(crate) fn load(&self) -> Result<Option<Loaded>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let meta = txn.open_table(META).map_err(|e| self.err(e))?;
        let Some(head) = meta.get("head").map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let head = Header::decode(head.value()).map_err(|e| self.corrupt("head", e))?;
        let genesis = meta
            .get("genesis")
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.corrupt("genesis", "missing"))?;
        let genesis_hash = H256::decode(genesis.value()).map_err(|e| self.corrupt("genesis", e))?;
        let table = txn.open_table(STATE).map_err(|e| self.err(e))?;
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for row in table.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            entries.push((k.value().to_vec(), v.value().to_vec()));
        }
        let state = State::load(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
            .map_err(|e| self.corrupt("state", e))?;
        let computed = state.digest();
        if computed != head.state_digest {
            return Err(StoreError::DigestMismatch {
                path: self.path.clone(),
                block: head.number.0,
                stored: head.state_digest,
                computed,
            });
        }
        Ok(Some(Loaded {
            state,
            head,
            genesis_hash,
        }))
    }

    /// Commits one block atomically.
    pub(crate) fn commit(&self, block: &AppliedBlock, genesis: &H256) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut state = txn.open_table(STATE).map_err(|e| self.err(e))?;
            for (key, value) in &block.changes {
                match value {
                    Some(v) => {
                        state
                            .insert(key.as_slice(), v.as_slice())
                            .map_err(|e| self.err(e))?;
                    }
                    None => {
                        state.remove(key.as_slice()).map_err(|e| self.err(e))?;
                    }
                }
            }
            let number = block.record.header.number.0;
            let mut blocks = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
            blocks
                .insert(number, block.record.encode().as_slice())
                .map_err(|e| self.err(e))?;
            let mut index = txn.open_table(EXTRINSICS).map_err(|e| self.err(e))?;
            for (i, hash) in block.hashes.iter().enumerate() {
                index
                    .insert(&hash.0, (number, i as u32))
                    .map_err(|e| self.err(e))?;
            }
            let mut meta = txn.open_table(META).map_err(|e| self.err(e))?;
            meta.insert("head", block.record.header.encode().as_slice())
                .map_err(|e| self.err(e))?;
            if number == 0 {
                meta.insert("genesis", genesis.0.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// A committed block.
    pub(crate) fn block(&self, number: u64) -> Result<Option<BlockRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
        let Some(bytes) = table.get(number).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        BlockRecord::decode(bytes.value())
            .map(Some)
            .map_err(|e| self.corrupt("block", e))
    }

    /// Where a committed extrinsic landed.
    pub(crate) fn extrinsic(&self, hash: &H256) -> Result<Option<(u64, u32)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(EXTRINSICS).map_err(|e| self.err(e))?;
        Ok(table
            .get(&hash.0)
            .map_err(|e| self.err(e))?
            .map(|v| v.value()))
    }
}
