//! The settings of one subnet, with the values the Bittensor chain gives a newly created
//! subnet (runtime spec 425: `init_new_network` over the runtime's `Initial*` constants).

use serde::{Deserialize, Serialize};

use super::Balance;

/// The hyperparameters of a subnet.
///
/// [`Default`] gives a new subnet's values on the Bittensor chain. Deserializing fills omitted
/// fields with those defaults and refuses unknown fields, so a typo never goes unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Hyperparameters {
    /// Blocks between epochs. Default 360 (owners may set 360..=50 400).
    pub tempo: u16,
    /// Share of stake that must support a weight for consensus, out of 65535. Default 32767.
    pub kappa: u16,
    /// Unused by the current epoch; kept for compatibility. Default 10.
    pub rho: u16,
    /// Blocks after registration during which a neuron cannot be pruned. Default 5000.
    pub immunity_period: u16,
    /// Least number of weights a validator must set. Default 1.
    pub min_allowed_weights: u16,
    /// Largest share any single weight may take, out of 65535. Default 65535 (no limit).
    pub max_weight_limit: u16,
    /// Slots in the subnet. Default 256.
    pub max_allowed_uids: u16,
    /// Validator permits handed out each epoch (top stake). Default 64.
    pub max_allowed_validators: u16,
    /// Activity cutoff in thousandths of a tempo. Default 13 889 (5000 blocks at tempo 360).
    pub activity_cutoff_factor_milli: u32,
    /// Version key `set_weights` must carry (at least). Default 0.
    pub weights_version_key: u64,
    /// Blocks a hotkey must wait between weight submissions (or commits). Default 100.
    pub weights_set_rate_limit: u64,
    /// Blocks a hotkey must wait between `serve_axon` calls. Default 50.
    pub serving_rate_limit: u64,
    /// Bond EMA memory in millionths (α = 1 − value/10⁶). Default 900 000.
    pub bonds_moving_average: u64,
    /// How much clipped weight still buys bonds, out of 65535 (65535 = none). Default 65535.
    pub bonds_penalty: u16,
    /// Yuma3 bonds (each bond its own \[0, 1\] quantity). Default on for new subnets.
    pub yuma3_enabled: bool,
    /// Consensus-driven bond EMA speed. Default off.
    pub liquid_alpha_enabled: bool,
    /// Liquid alpha's lower bound, out of 65535. Default 45 875 (0.7).
    pub alpha_low: u16,
    /// Liquid alpha's upper bound, out of 65535. Default 58 982 (0.9).
    pub alpha_high: u16,
    /// Liquid alpha's sigmoid steepness (divided by −100 on use). Default 1000.
    pub alpha_sigmoid_steepness: i16,
    /// Weights are committed as a hash and revealed later. Default on.
    pub commit_reveal_weights_enabled: bool,
    /// Epochs a commit may wait before it must be revealed. Default 1.
    pub commit_reveal_period: u64,
    /// Registrations are open. Default on.
    pub registration_allowed: bool,
    /// Registrations accepted in one block. Default 1.
    pub max_regs_per_block: u16,
    /// The registration price never falls below this. Default 500 000 rao.
    pub min_burn: Balance,
    /// The registration price never rises above this. Default 100 TAO.
    pub max_burn: Balance,
    /// Blocks over which the registration price halves. Default 360.
    pub burn_half_life: u16,
    /// A metadata commitment clears the committing miner's bonds. Default off.
    pub bonds_reset_enabled: bool,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            tempo: 360,
            kappa: 32_767,
            rho: 10,
            immunity_period: 5_000,
            min_allowed_weights: 1,
            max_weight_limit: u16::MAX,
            max_allowed_uids: 256,
            max_allowed_validators: 64,
            activity_cutoff_factor_milli: 13_889,
            weights_version_key: 0,
            weights_set_rate_limit: 100,
            serving_rate_limit: 50,
            bonds_moving_average: 900_000,
            bonds_penalty: u16::MAX,
            yuma3_enabled: true,
            liquid_alpha_enabled: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            commit_reveal_weights_enabled: true,
            commit_reveal_period: 1,
            registration_allowed: true,
            max_regs_per_block: 1,
            min_burn: Balance::from_rao(500_000),
            max_burn: Balance::from_tao(100),
            burn_half_life: 360,
            bonds_reset_enabled: false,
        }
    }
}

impl Hyperparameters {
    /// The activity cutoff in blocks: `max(1, factor·tempo/1000)`, as the chain computes it.
    pub fn activity_cutoff_blocks(&self) -> u64 {
        (u64::from(self.activity_cutoff_factor_milli) * u64::from(self.tempo) / 1000).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_cutoff_follows_the_tempo() {
        let mut h = Hyperparameters::default();
        assert_eq!(h.activity_cutoff_blocks(), 5000);
        h.tempo = 10;
        assert_eq!(h.activity_cutoff_blocks(), 138);
        h.tempo = 1;
        assert_eq!(h.activity_cutoff_blocks(), 13);
        h.tempo = 0;
        assert_eq!(h.activity_cutoff_blocks(), 1);
    }

    #[test]
    fn omitted_fields_take_defaults_and_unknown_fields_are_refused() {
        let h: Hyperparameters = serde_json::from_str(r#"{"tempo": 10}"#).unwrap();
        assert_eq!(h.tempo, 10);
        assert_eq!(h.kappa, 32_767);
        let err = serde_json::from_str::<Hyperparameters>(r#"{"tempoo": 10}"#).unwrap_err();
        assert!(err.to_string().contains("tempoo"), "{err}");
    }
}
