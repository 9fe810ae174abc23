//! Yuma Consensus, bit-exact with the Bittensor chain.
//!
//! - [`epoch`]: the sparse epoch the chain runs every tempo, a pure function from an
//!   [`EpochInput`] (stake, weights, bonds, permits, activity, settings) to an [`EpochOutput`]
//!   (incentive, dividends, consensus, validator trust, emission in rao, new bonds).
//! - [`block_emission`]: TAO minted per block for a total issuance (halvings, 21M cap).
//! - [`scenario`]: replays a scripted subnet history through the epoch, as
//!   `subforge epoch simulate` does.
//! - [`fixed`]: the fixed-point helpers, with the chain's rounding, for callers that need the
//!   same quantisation (`vec_max_upscale_to_u16`, `fixed_proportion_to_u16`, `exp_safe`).
//!
//! Arithmetic is `substrate-fixed` 0.6.0 (`I32F32`, `I64F64`, `I96F32`), as on chain:
//! multiplications floor, divisions truncate, a division by zero gives zero.

mod bonds;
mod emission;
mod epoch;
mod exp;
pub mod fixed;
mod median;
pub mod scenario;
mod sparse;

pub use emission::{TOTAL_SUPPLY_RAO, block_emission};
pub use epoch::{EpochError, EpochInput, EpochOutput, EpochParams, epoch};
pub use median::weighted_median;
