//! Replays a scripted subnet history through the epoch: registrations, stake changes, weights
//! and epochs, with permits and bonds carried from one epoch to the next.
//!
//! This is what `subforge epoch simulate --scenario FILE` runs; tests run the same code.
//!
//! A scenario is JSON (unknown fields are refused everywhere):
//!
//! ```json
//! {"n": 4,
//!  "hyperparameters": {"tempo": 1, "kappa": 32767, "max_allowed_validators": 4},
//!  "stake": [1, 1, 1, 1],
//!  "registered_at": [0, 0, 0, 0],
//!  "events": [
//!    {"block": 0, "epoch": 1000000000},
//!    {"block": 1, "set_weights": {"uid": 0, "uids": [2, 3], "weights": [32767, 32767]}},
//!    {"block": 1, "epoch": 1000000000},
//!    {"block": 9, "set_stake": {"uid": 1, "stake": 5}},
//!    {"block": 9, "register": {"uid": 3}}]}
//! ```
//!
//! Omitted hyperparameters take a new subnet's values on the Bittensor chain (the activity
//! cutoff follows the tempo). Like the chain's own tests, which call the epoch directly, the
//! bond mask is anchored at `block − tempo`.

use serde::{Deserialize, Serialize};

use super::epoch::{EpochError, EpochInput, EpochOutput, EpochParams, epoch};
use super::fixed::u16_max_upscale;
use crate::chain::{Balance, Block, Hyperparameters, Uid};

/// The most uids a scenario may have (the chain's historical ceiling), which keeps a replay's
/// memory and time bounded whatever the file says.
pub const MAX_UIDS: usize = 4096;

/// A subnet's starting state and the events to replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The number of uids.
    pub n: usize,
    /// The subnet's settings; omitted ones take the chain's defaults.
    #[serde(default)]
    pub hyperparameters: ScenarioHyperparameters,
    /// Each uid's stake in rao.
    pub stake: Vec<u64>,
    /// The block each uid was registered at.
    pub registered_at: Vec<u64>,
    /// Each uid's last weights block; defaults to `registered_at`.
    #[serde(default)]
    pub last_update: Option<Vec<u64>>,
    /// Permits held before the first epoch; defaults to none. May be shorter than `n`: the
    /// missing uids have no permit (as when the chain's vector is short).
    #[serde(default)]
    pub validator_permit: Option<Vec<bool>>,
    /// The subnet owner's uid, if registered.
    #[serde(default)]
    pub owner: Option<u16>,
    /// What happens, in block order.
    pub events: Vec<Event>,
}

/// The settings a scenario may set; each omitted one takes the chain's default for a new
/// subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioHyperparameters {
    /// Blocks between epochs. Default 360.
    pub tempo: u16,
    /// Share of stake that must support a weight, out of 65535. Default 32767.
    pub kappa: u16,
    /// Activity cutoff in blocks. Default `max(1, 13889 · tempo / 1000)`.
    pub activity_cutoff: Option<u64>,
    /// Permits handed out each epoch. Default 64.
    pub max_allowed_validators: u16,
    /// Bond EMA memory in millionths. Default 900000.
    pub bonds_moving_average: u64,
    /// Bonds penalty out of 65535. Default 65535.
    pub bonds_penalty: u16,
    /// Yuma3 bonds. Default on (new subnets).
    pub yuma3: bool,
    /// Liquid alpha. Default off.
    pub liquid_alpha: bool,
    /// Liquid alpha's lower bound. Default 45875.
    pub alpha_low: u16,
    /// Liquid alpha's upper bound. Default 58982.
    pub alpha_high: u16,
    /// Liquid alpha's steepness. Default 1000.
    pub alpha_sigmoid_steepness: i16,
    /// Stake in rao below which a uid counts as unstaked. Default 0.
    pub stake_threshold: u64,
}

impl Default for ScenarioHyperparameters {
    fn default() -> Self {
        let h = Hyperparameters::default();
        Self {
            tempo: h.tempo,
            kappa: h.kappa,
            activity_cutoff: None,
            max_allowed_validators: h.max_allowed_validators,
            bonds_moving_average: h.bonds_moving_average,
            bonds_penalty: h.bonds_penalty,
            yuma3: h.yuma3_enabled,
            liquid_alpha: h.liquid_alpha_enabled,
            alpha_low: h.alpha_low,
            alpha_high: h.alpha_high,
            alpha_sigmoid_steepness: h.alpha_sigmoid_steepness,
            stake_threshold: 0,
        }
    }
}

impl ScenarioHyperparameters {
    /// The epoch's settings.
    pub fn epoch_params(&self) -> EpochParams {
        let cutoff = self.activity_cutoff.unwrap_or_else(|| {
            let h = Hyperparameters {
                tempo: self.tempo,
                ..Hyperparameters::default()
            };
            h.activity_cutoff_blocks()
        });
        EpochParams {
            tempo: self.tempo,
            activity_cutoff: cutoff,
            kappa: self.kappa,
            max_allowed_validators: self.max_allowed_validators,
            bonds_penalty: self.bonds_penalty,
            bonds_moving_average: self.bonds_moving_average,
            yuma3: self.yuma3,
            liquid_alpha: self.liquid_alpha,
            alpha_low: self.alpha_low,
            alpha_high: self.alpha_high,
            alpha_sigmoid_steepness: self.alpha_sigmoid_steepness,
            stake_threshold: self.stake_threshold,
        }
    }
}

/// One scripted event: a block and exactly one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The block it happens at (events must not go back in time).
    pub block: u64,
    /// Run the epoch with this emission in rao.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// A uid sets weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_weights: Option<SetWeights>,
    /// A uid is re-registered (a new neuron takes the slot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<Register>,
    /// A uid's stake changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_stake: Option<SetStake>,
}

/// `set_weights`: stored as the chain stores it (max-upscaled to `u16`, in the given order);
/// the uid's last update becomes the event's block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetWeights {
    /// The uid setting weights.
    pub uid: u16,
    /// The uids weighted.
    pub uids: Vec<u16>,
    /// The weights, one per uid.
    pub weights: Vec<u16>,
}

/// `register`: the slot's registration and last update become the event's block, its weights
/// and bonds are cleared and other uids' weights on it become zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The slot.
    pub uid: u16,
}

/// `set_stake`: the uid's stake in rao.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetStake {
    /// The uid.
    pub uid: u16,
    /// The new stake in rao.
    pub stake: u64,
}

/// One epoch's result, as `subforge epoch simulate` prints it (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochReport {
    /// The block the epoch ran at.
    pub block: u64,
    /// Everything the epoch produced, per uid.
    #[serde(flatten)]
    pub output: EpochOutput,
}

/// Why a scenario cannot be read or replayed. Each variant names the field or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid JSON, an unknown field, or a value of the wrong type (a negative or
    /// fractional stake, say).
    #[error("scenario field `{path}`: {message}")]
    Parse {
        /// Where in the document (`events[3].set_stake.stake`).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// More uids than a scenario may have.
    #[error("scenario `n` is {n}; at most {max} uids are supported")]
    TooManyUids {
        /// The number asked for.
        n: usize,
        /// The limit.
        max: usize,
    },
    /// A per-uid array does not have `n` entries.
    #[error("scenario field `{field}` has {len} entries but `n` is {n}")]
    LengthMismatch {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// `n`.
        n: usize,
    },
    /// The owner is not one of the `n` uids.
    #[error("scenario field `owner` is uid {uid}, but `n` is {n}")]
    OwnerOutOfRange {
        /// The owner's uid.
        uid: u16,
        /// `n`.
        n: usize,
    },
    /// An event has no action or more than one.
    #[error(
        "scenario event {event} has {found} actions; it needs exactly one of `epoch`, `set_weights`, `register`, `set_stake`"
    )]
    EventAction {
        /// The event's index.
        event: usize,
        /// How many actions it has.
        found: usize,
    },
    /// An event's block is earlier than the one before it.
    #[error(
        "scenario event {event} is at block {block}, before the previous event's block {previous}"
    )]
    BlockOrder {
        /// The event's index.
        event: usize,
        /// Its block.
        block: u64,
        /// The previous event's block.
        previous: u64,
    },
    /// An event names a uid that does not exist.
    #[error("scenario event {event} field `{field}` names uid {uid}, but `n` is {n}")]
    UidOutOfRange {
        /// The event's index.
        event: usize,
        /// The field (`set_weights.uids[2]`, say).
        field: String,
        /// The uid.
        uid: u16,
        /// `n`.
        n: usize,
    },
    /// `set_weights` with `uids` and `weights` of different lengths.
    #[error(
        "scenario event {event} `set_weights` has {uids} uids but {weights} weights; they must pair up"
    )]
    WeightsLength {
        /// The event's index.
        event: usize,
        /// `uids.len()`.
        uids: usize,
        /// `weights.len()`.
        weights: usize,
    },
    /// `set_weights` names a uid twice (the chain refuses that).
    #[error("scenario event {event} `set_weights.uids` names uid {uid} twice")]
    DuplicateUid {
        /// The event's index.
        event: usize,
        /// The repeated uid.
        uid: u16,
    },
    /// The epoch refused the state the events led to.
    #[error("scenario event {event} (epoch): {source}")]
    Epoch {
        /// The event's index.
        event: usize,
        /// The epoch's error.
        source: EpochError,
    },
}

impl Scenario {
    /// Reads and checks a scenario from JSON.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario =
            serde_path_to_error::deserialize(de).map_err(|e| ScenarioError::Parse {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks lengths, uids and event order without running anything.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let n = self.n;
        if n > MAX_UIDS {
            return Err(ScenarioError::TooManyUids { n, max: MAX_UIDS });
        }
        let mut lens = vec![
            ("stake", self.stake.len()),
            ("registered_at", self.registered_at.len()),
        ];
        if let Some(lu) = &self.last_update {
            lens.push(("last_update", lu.len()));
        }
        for (field, len) in lens {
            if len != n {
                return Err(ScenarioError::LengthMismatch { field, len, n });
            }
        }
        if let Some(p) = &self.validator_permit
            && p.len() > n
        {
            return Err(ScenarioError::LengthMismatch {
                field: "validator_permit",
                len: p.len(),
                n,
            });
        }
        if let Some(uid) = self.owner
            && usize::from(uid) >= n
        {
            return Err(ScenarioError::OwnerOutOfRange { uid, n });
        }
        let check_uid = |event: usize, field: String, uid: u16| {
            if usize::from(uid) < n {
                Ok(())
            } else {
                Err(ScenarioError::UidOutOfRange {
                    event,
                    field,
                    uid,
                    n,
                })
            }
        };
        let mut previous = 0u64;
        let mut seen = vec![usize::MAX; n];
        for (event, e) in self.events.iter().enumerate() {
            let found = usize::from(e.epoch.is_some())
                + usize::from(e.set_weights.is_some())
                + usize::from(e.register.is_some())
                + usize::from(e.set_stake.is_some());
            if found != 1 {
                return Err(ScenarioError::EventAction { event, found });
            }
            if e.block < previous {
                return Err(ScenarioError::BlockOrder {
                    event,
                    block: e.block,
                    previous,
                });
            }
            previous = e.block;
            if let Some(sw) = &e.set_weights {
                check_uid(event, "set_weights.uid".into(), sw.uid)?;
                if sw.uids.len() != sw.weights.len() {
                    return Err(ScenarioError::WeightsLength {
                        event,
                        uids: sw.uids.len(),
                        weights: sw.weights.len(),
                    });
                }
                for (k, &uid) in sw.uids.iter().enumerate() {
                    check_uid(event, format!("set_weights.uids[{k}]"), uid)?;
                    let mark = &mut seen[usize::from(uid)];
                    if *mark == event {
                        return Err(ScenarioError::DuplicateUid { event, uid });
                    }
                    *mark = event;
                }
            }
            if let Some(r) = &e.register {
                check_uid(event, "register.uid".into(), r.uid)?;
            }
            if let Some(s) = &e.set_stake {
                check_uid(event, "set_stake.uid".into(), s.uid)?;
            }
        }
        Ok(())
    }

    /// Replays the events, yielding one report per `epoch` event.
    pub fn replay(&self) -> Replay<'_> {
        let n = self.n;
        let state = EpochInput {
            block: Block(0),
            params: self.hyperparameters.epoch_params(),
            stake: self.stake.iter().map(|&s| Balance::from_rao(s)).collect(),
            last_update: self
                .last_update
                .as_ref()
                .unwrap_or(&self.registered_at)
                .iter()
                .map(|&b| Block(b))
                .collect(),
            block_at_registration: self.registered_at.iter().map(|&b| Block(b)).collect(),
            owner: self.owner.map(Uid),
            validator_permit: self
                .validator_permit
                .clone()
                .unwrap_or_else(|| vec![false; n]),
            weights: vec![Vec::new(); n],
            bonds: vec![Vec::new(); n],
            commit_reveal: None,
            last_epoch_block: Block(0),
            emission: Balance::ZERO,
        };
        Replay {
            scenario: self,
            state,
            next: 0,
            failed: false,
        }
    }

    /// Replays the whole scenario and collects the reports.
    pub fn run(&self) -> Result<Vec<EpochReport>, ScenarioError> {
        self.replay().collect()
    }
}

/// Reads, checks and replays a scenario: the whole of `subforge epoch simulate`.
pub fn simulate(json: &str) -> Result<Vec<EpochReport>, ScenarioError> {
    Scenario::from_json(json)?.run()
}

/// A replay in progress: an iterator over the epochs' reports. Build it with
/// [`Scenario::replay`]; it stops after the first error.
#[derive(Debug)]
pub struct Replay<'a> {
    scenario: &'a Scenario,
    state: EpochInput,
    next: usize,
    failed: bool,
}

impl Replay<'_> {
    /// The state the next epoch would read.
    pub fn state(&self) -> &EpochInput {
        &self.state
    }
}

impl Iterator for Replay<'_> {
    type Item = Result<EpochReport, ScenarioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        while let Some(e) = self.scenario.events.get(self.next) {
            let index = self.next;
            self.next += 1;
            let s = &mut self.state;
            let block = Block(e.block);
            if let Some(sw) = &e.set_weights {
                let values = u16_max_upscale(&sw.weights);
                if let Some(row) = s.weights.get_mut(usize::from(sw.uid)) {
                    *row = sw.uids.iter().copied().zip(values).collect();
                }
                if let Some(lu) = s.last_update.get_mut(usize::from(sw.uid)) {
                    *lu = block;
                }
            } else if let Some(r) = &e.register {
                let uid = usize::from(r.uid);
                if let (Some(reg), Some(lu), Some(w), Some(b)) = (
                    s.block_at_registration.get_mut(uid),
                    s.last_update.get_mut(uid),
                    s.weights.get_mut(uid),
                    s.bonds.get_mut(uid),
                ) {
                    *reg = block;
                    *lu = block;
                    w.clear();
                    b.clear();
                }
                for row in s.weights.iter_mut() {
                    for (j, w) in row.iter_mut() {
                        if *j == r.uid {
                            *w = 0;
                        }
                    }
                }
            } else if let Some(st) = &e.set_stake {
                if let Some(stake) = s.stake.get_mut(usize::from(st.uid)) {
                    *stake = Balance::from_rao(st.stake);
                }
            } else if let Some(emission) = e.epoch {
                s.block = block;
                s.emission = Balance::from_rao(emission);
                return Some(match epoch(s) {
                    Ok(output) => {
                        s.validator_permit.clone_from(&output.validator_permit);
                        s.bonds.clone_from(&output.bonds);
                        Ok(EpochReport {
                            block: e.block,
                            output,
                        })
                    }
                    Err(source) => {
                        self.failed = true;
                        Err(ScenarioError::Epoch {
                            event: index,
                            source,
                        })
                    }
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_runs() {
        let text = r#"{"n": 4,
         "hyperparameters": {"tempo": 1, "kappa": 32767, "activity_cutoff": 5000,
           "max_allowed_validators": 4, "bonds_moving_average": 900000, "bonds_penalty": 65535,
           "yuma3": false, "liquid_alpha": false, "alpha_low": 45875, "alpha_high": 58982,
           "alpha_sigmoid_steepness": 1000},
         "stake": [1, 1, 1, 1],
         "registered_at": [0, 0, 0, 0],
         "events": [
           {"block": 0, "epoch": 1000000000},
           {"block": 1, "set_weights": {"uid": 0, "uids": [2, 3], "weights": [32767, 32767]}},
           {"block": 1, "epoch": 1000000000},
           {"block": 9, "set_stake": {"uid": 1, "stake": 5}},
           {"block": 9, "register": {"uid": 3}}]}"#;
        let reports = simulate(text).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[1].block, 1);
        assert_eq!(
            reports[1].output.incentive[2],
            reports[1].output.incentive[3]
        );
    }

    #[test]
    fn errors_name_the_field_or_event() {
        let bad_stake = r#"{"n": 2, "stake": [1, -1], "registered_at": [0, 0], "events": []}"#;
        match Scenario::from_json(bad_stake) {
            Err(ScenarioError::Parse { path, .. }) => assert_eq!(path, "stake[1]"),
            other => panic!("{other:?}"),
        }
        let unknown = r#"{"n": 1, "stake": [1], "registered_at": [0], "events": [
            {"block": 0, "epoch": 1, "colour": 3}]}"#;
        match Scenario::from_json(unknown) {
            Err(ScenarioError::Parse { path, message }) => {
                assert_eq!(path, "events[0].colour");
                assert!(message.contains("colour"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let pairs = r#"{"n": 2, "stake": [1, 1], "registered_at": [0, 0], "events": [
            {"block": 0, "epoch": 1},
            {"block": 1, "set_weights": {"uid": 0, "uids": [1], "weights": [1, 2]}}]}"#;
        assert_eq!(
            Scenario::from_json(pairs),
            Err(ScenarioError::WeightsLength {
                event: 1,
                uids: 1,
                weights: 2
            })
        );
    }
}
