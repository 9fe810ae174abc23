//! What a validator keeps across restarts: its step, its scores, the weights it last set and a
//! commit it has yet to reveal. Saved as JSON, atomically, after every step.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use subforge_core::{Block, Hotkey, NetUid};

use super::scores::Scores;
use crate::chain::PendingReveal;

/// The version of the state file's layout.
const STATE_VERSION: u32 = 1;
/// State files are the validator's own: owner read/write only.
const STATE_MODE: u32 = 0o600;
/// No state file is anywhere near this large.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// Weights as submitted: parallel uids and u16 values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsRecord {
    /// The block the extrinsic was included in.
    pub block: Block,
    /// Target uids.
    pub uids: Vec<u16>,
    /// Weight per uid.
    pub values: Vec<u16>,
}

/// Everything a validator restores after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatorState {
    version: u32,
    /// The subnet.
    pub netuid: NetUid,
    /// The validator's hotkey.
    pub hotkey: Hotkey,
    /// Steps taken so far.
    pub step: u64,
    /// Moving-average scores.
    pub scores: Scores,
    /// The last weights set (or revealed).
    pub last_weights: Option<WeightsRecord>,
    /// A commit the validator has yet to reveal (chains that reveal by themselves leave none).
    pub pending_reveal: Option<PendingReveal>,
}

/// Why state could not be loaded or saved. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("validator state {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a state file of ours (move it away to start fresh).
    #[error("validator state {} is unreadable ({reason}); move it away to start with fresh scores", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file belongs to another validator or subnet.
    #[error(
        "validator state {} belongs to hotkey {found_hotkey} on netuid {found_netuid}, \
         not {hotkey} on netuid {netuid}; use another base path",
        path.display()
    )]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// The hotkey in the file.
        found_hotkey: Hotkey,
        /// The netuid in the file.
        found_netuid: NetUid,
        /// This validator's hotkey.
        hotkey: Hotkey,
        /// This validator's netuid.
        netuid: NetUid,
    },
}

impl ValidatorState {
    /// A fresh state.
    pub fn new(netuid: NetUid, hotkey: Hotkey) -> Self {
        Self {
            version: STATE_VERSION,
            netuid,
            hotkey,
            step: 0,
            scores: Scores::default(),
            last_weights: None,
            pending_reveal: None,
        }
    }

    /// The state file under a validator's base path.
    pub fn path(base: &Path) -> PathBuf {
        base.join("validator-state.json")
    }

    /// Loads the state saved at `path` for this validator, a fresh state if there is none.
    pub fn load_or_new(path: &Path, netuid: NetUid, hotkey: Hotkey) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(netuid, hotkey));
            }
            Err(e) => return Err(io(e)),
        };
        if meta.len() > MAX_STATE_BYTES {
            return Err(corrupt(format!("{} bytes is too large", meta.len())));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let state: Self = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(corrupt(format!(
                "layout version {} is not {STATE_VERSION}",
                state.version
            )));
        }
        if state.netuid != netuid || state.hotkey != hotkey {
            return Err(StateError::WrongOwner {
                path: path.to_owned(),
                found_hotkey: state.hotkey,
                found_netuid: state.netuid,
                hotkey,
                netuid,
            });
        }
        Ok(state)
    }

    /// Saves the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let json = serde_json::to_vec(self).map_err(|e| StateError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        crate::fs::write_atomic(path, &json, STATE_MODE, true).map_err(|source| StateError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::{AccountId, Uid};

    #[test]
    fn state_round_trips_and_refuses_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let path = ValidatorState::path(dir.path());
        let me = Hotkey(AccountId([1; 32]));
        let mut state = ValidatorState::load_or_new(&path, NetUid(1), me).unwrap();
        assert_eq!(state.step, 0);
        state.step = 7;
        state.scores.resync(&[me, Hotkey(AccountId([2; 32]))]);
        state.scores.record(&[(Uid(1), 0.75)], 0.5);
        state.last_weights = Some(WeightsRecord {
            block: Block(9),
            uids: vec![1],
            values: vec![65535],
        });
        state.save(&path).unwrap();
        let back = ValidatorState::load_or_new(&path, NetUid(1), me).unwrap();
        assert_eq!(back, state);

        let other = Hotkey(AccountId([3; 32]));
        assert!(matches!(
            ValidatorState::load_or_new(&path, NetUid(1), other),
            Err(StateError::WrongOwner { .. })
        ));
        assert!(matches!(
            ValidatorState::load_or_new(&path, NetUid(2), me),
            Err(StateError::WrongOwner { .. })
        ));

        std::fs::write(&path, b"{\"version\":1,").unwrap();
        let err = ValidatorState::load_or_new(&path, NetUid(1), me).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }));
        assert!(err.to_string().contains("move it away"), "{err}");
    }
}
