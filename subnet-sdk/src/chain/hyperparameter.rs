//! The subnet settings an owner (or the sudo key) may change.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A subnet setting that `set_hyperparameter` can change.
///
/// The names are the fields of [`subforge_core::Hyperparameters`]; `emission_enabled` is the
/// subnet's share of block emission (sudo only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Hyperparameter {
    Tempo,
    Kappa,
    ImmunityPeriod,
    MinAllowedWeights,
    MaxAllowedUids,
    MaxAllowedValidators,
    ActivityCutoffFactorMilli,
    WeightsVersionKey,
    WeightsSetRateLimit,
    ServingRateLimit,
    BondsMovingAverage,
    BondsPenalty,
    Yuma3Enabled,
    LiquidAlphaEnabled,
    AlphaLow,
    AlphaHigh,
    AlphaSigmoidSteepness,
    CommitRevealWeightsEnabled,
    CommitRevealPeriod,
    RegistrationAllowed,
    MaxRegsPerBlock,
    MinBurn,
    MaxBurn,
    BurnHalfLife,
    BondsResetEnabled,
    EmissionEnabled,
}

impl Hyperparameter {
    /// Every settable hyperparameter, in encoding order.
    pub const ALL: [Self; 26] = [
        Self::Tempo,
        Self::Kappa,
        Self::ImmunityPeriod,
        Self::MinAllowedWeights,
        Self::MaxAllowedUids,
        Self::MaxAllowedValidators,
        Self::ActivityCutoffFactorMilli,
        Self::WeightsVersionKey,
        Self::WeightsSetRateLimit,
        Self::ServingRateLimit,
        Self::BondsMovingAverage,
        Self::BondsPenalty,
        Self::Yuma3Enabled,
        Self::LiquidAlphaEnabled,
        Self::AlphaLow,
        Self::AlphaHigh,
        Self::AlphaSigmoidSteepness,
        Self::CommitRevealWeightsEnabled,
        Self::CommitRevealPeriod,
        Self::RegistrationAllowed,
        Self::MaxRegsPerBlock,
        Self::MinBurn,
        Self::MaxBurn,
        Self::BurnHalfLife,
        Self::BondsResetEnabled,
        Self::EmissionEnabled,
    ];

    /// The snake_case name, as in [`subforge_core::Hyperparameters`].
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub(crate) fn tag(self) -> u8 {
        Self::ALL.iter().position(|h| *h == self).unwrap_or(0) as u8
    }
}

/// Why text is not a hyperparameter name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a settable hyperparameter")]
pub struct UnknownHyperparameter(pub String);

impl FromStr for Hyperparameter {
    type Err = UnknownHyperparameter;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|h| h.name() == wanted)
            .ok_or_else(|| UnknownHyperparameter(s.to_owned()))
    }
}

impl fmt::Display for Hyperparameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
