//! A validator's memory of its miners: a moving average of scores per uid, tied to the hotkey
//! that held the uid when it was scored, so a replaced neuron never inherits its slot's score.

use serde::{Deserialize, Serialize};
use subforge_core::{Hotkey, Uid};

/// Moving-average scores per uid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The average per uid.
    values: Vec<f64>,
    /// The hotkey each average belongs to.
    hotkeys: Vec<Option<Hotkey>>,
}

impl Scores {
    /// Follows the metagraph: grows or shrinks to its size and zeroes every uid whose hotkey
    /// changed (a newly registered neuron starts from zero).
    pub fn resync(&mut self, hotkeys: &[Hotkey]) {
        self.values.resize(hotkeys.len(), 0.0);
        self.hotkeys.resize(hotkeys.len(), None);
        for (i, hk) in hotkeys.iter().enumerate() {
            if self.hotkeys[i] != Some(*hk) {
                self.hotkeys[i] = Some(*hk);
                self.values[i] = 0.0;
            }
        }
    }

    /// Folds one step's scores in: `s ← α·score + (1 − α)·s` for the queried uids only;
    /// uids not queried keep their average. Uids beyond the metagraph are ignored.
    pub fn record(&mut self, scored: &[(Uid, f64)], alpha: f64) {
        let alpha = if alpha.is_finite() {
            alpha.clamp(0.0, 1.0)
        } else {
            0.0
        };
        for &(uid, score) in scored {
            let score = if score.is_finite() {
                score.max(0.0)
            } else {
                0.0
            };
            if let Some(s) = self.values.get_mut(uid.index()) {
                *s = alpha * score + (1.0 - alpha) * *s;
            }
        }
    }

    /// The averages, indexed by uid.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The average of one uid.
    pub fn get(&self, uid: Uid) -> Option<f64> {
        self.values.get(uid.index()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::AccountId;

    fn hk(b: u8) -> Hotkey {
        Hotkey(AccountId([b; 32]))
    }

    #[test]
    fn only_queried_uids_move() {
        let mut s = Scores::default();
        s.resync(&[hk(1), hk(2), hk(3)]);
        s.record(&[(Uid(0), 1.0), (Uid(2), 0.5)], 0.1);
        assert_eq!(s.values(), &[0.1, 0.0, 0.05]);
        s.record(&[(Uid(0), 1.0)], 0.1);
        assert_eq!(s.get(Uid(0)), Some(0.1 + 0.9 * 0.1));
        assert_eq!(s.get(Uid(2)), Some(0.05));
    }

    #[test]
    fn replaced_uids_start_from_zero() {
        let mut s = Scores::default();
        s.resync(&[hk(1), hk(2)]);
        s.record(&[(Uid(0), 1.0), (Uid(1), 1.0)], 0.5);
        s.resync(&[hk(1), hk(9), hk(3)]);
        assert_eq!(s.values(), &[0.5, 0.0, 0.0]);
    }

    #[test]
    fn bad_numbers_do_not_poison_the_average() {
        let mut s = Scores::default();
        s.resync(&[hk(1)]);
        s.record(&[(Uid(0), f64::NAN), (Uid(7), 1.0)], 0.5);
        assert_eq!(s.values(), &[0.0]);
        s.record(&[(Uid(0), 1.0)], f64::INFINITY);
        assert_eq!(s.values(), &[0.0]);
    }
}
