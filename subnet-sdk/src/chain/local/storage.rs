//! Typed storage maps that remember what changed (for the store and the digest) and can roll a
//! failed extrinsic back (as FRAME's transactional storage does).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeBounds;

use crate::chain::local::codec::{Decode, DecodeError, Encode};

/// A key-value change for the store: the full key and the new value, or `None` for a removal.
pub(crate) type Change = (Vec<u8>, Option<Vec<u8>>);

/// One storage item: a map from `K` to `V` under a one-byte prefix.
#[derive(Debug)]
pub(crate) struct StorageMap<K, V> {
    prefix: u8,
    map: BTreeMap<K, V>,
    dirty: BTreeSet<K>,
    /// Previous values of keys written inside the open transaction, oldest first.
    journal: Option<Vec<(K, Option<V>)>>,
}

impl<K, V> StorageMap<K, V>
where
    K: Ord + Clone + Encode + Decode,
    V: Clone + Encode + Decode,
{
    pub(crate) fn new(prefix: u8) -> Self {
        Self {
            prefix,
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
            journal: None,
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    fn record(&mut self, key: &K) {
        if let Some(journal) = &mut self.journal {
            journal.push((key.clone(), self.map.get(key).cloned()));
        }
        self.dirty.insert(key.clone());
    }

    /// A mutable reference to an existing value; marks it changed.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if !self.map.contains_key(key) {
            return None;
        }
        self.record(key);
        self.map.get_mut(key)
    }

    /// The value, inserted as `default()` first if absent; marks it changed.
    pub(crate) fn entry_or(&mut self, key: &K, default: impl FnOnce() -> V) -> &mut V {
        self.record(key);
        self.map.entry(key.clone()).or_insert_with(default)
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        self.record(&key);
        self.map.insert(key, value);
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        if !self.map.contains_key(key) {
            return None;
        }
        self.record(key);
        self.map.remove(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    pub(crate) fn range<R: RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(range)
    }

    pub(crate) fn begin(&mut self) {
        self.journal = Some(Vec::new());
    }

    pub(crate) fn commit(&mut self) {
        self.journal = None;
    }

    /// Restores every value written since `begin`. Keys stay marked changed: rewriting an
    /// unchanged value is harmless, and forgetting a real change would not be.
    pub(crate) fn rollback(&mut self) {
        if let Some(journal) = self.journal.take() {
            for (key, old) in journal.into_iter().rev() {
                match old {
                    Some(v) => self.map.insert(key, v),
                    None => self.map.remove(&key),
                };
            }
        }
    }

    pub(crate) fn full_key(&self, key: &K) -> Vec<u8> {
        let mut out = vec![self.prefix];
        key.encode_to(&mut out);
        out
    }

    /// Drains the changed keys into store changes.
    pub(crate) fn take_changes(&mut self, out: &mut Vec<Change>) {
        for key in std::mem::take(&mut self.dirty) {
            let value = self.map.get(&key).map(Encode::encode);
            out.push((self.full_key(&key), value));
        }
    }

    /// Loads one stored entry (its full key without the prefix byte).
    pub(crate) fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), DecodeError> {
        self.map.insert(K::decode(key)?, V::decode(value)?);
        Ok(())
    }
}
