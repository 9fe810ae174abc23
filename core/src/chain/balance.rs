//! Amounts of TAO, counted in rao.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// Rao in one TAO.
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// An amount of TAO, held exactly as a whole number of rao (1 TAO = 10^9 rao).
///
/// Displays as TAO with nine decimals (`τ1,234.500000000`), as the Python SDK prints balances.
/// Arithmetic is checked or saturating: balances never wrap.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Balance(u64);

/// Why a TAO amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// Not a decimal number.
    #[error("`{0}` is not an amount of TAO (expected a number such as 1.5)")]
    NotANumber(String),
    /// More than nine decimals: finer than one rao.
    #[error("`{0}` has more than 9 decimals; the smallest unit is 1 rao = 0.000000001 TAO")]
    TooPrecise(String),
    /// More than `u64::MAX` rao.
    #[error("`{0}` TAO is more than can exist (at most 18446744073.709551615)")]
    TooLarge(String),
}

impl Balance {
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// The largest amount representable.
    pub const MAX: Self = Self(u64::MAX);

    /// An amount in rao.
    pub const fn from_rao(rao: u64) -> Self {
        Self(rao)
    }

    /// A whole number of TAO, saturating at [`Balance::MAX`].
    pub const fn from_tao(tao: u64) -> Self {
        Self(tao.saturating_mul(RAO_PER_TAO))
    }

    /// The amount in rao.
    pub const fn rao(self) -> u64 {
        self.0
    }

    /// The amount in TAO as a float, for display and rough arithmetic only.
    pub fn tao_f64(self) -> f64 {
        self.0 as f64 / RAO_PER_TAO as f64
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` if `other` is larger.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self + other`, capped at [`Balance::MAX`].
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self - other`, floored at zero.
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / RAO_PER_TAO;
        let frac = self.0 % RAO_PER_TAO;
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "τ{grouped}.{frac:09}")
    }
}

impl fmt::Debug for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Balance({} rao)", self.0)
    }
}

impl FromStr for Balance {
    type Err = BalanceError;

    /// Parses an amount of TAO such as `1`, `0.5` or `1_000.25` (a leading `τ` is allowed).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s: String = text
            .trim()
            .trim_start_matches('τ')
            .chars()
            .filter(|c| *c != '_' && *c != ',')
            .collect();
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
            return Err(BalanceError::NotANumber(text.to_owned()));
        }
        if frac.len() > 9 {
            return Err(BalanceError::TooPrecise(text.to_owned()));
        }
        let too_large = || BalanceError::TooLarge(text.to_owned());
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let frac_rao: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<u64>().map_err(|_| too_large())? * 10u64.pow(9 - frac.len() as u32)
        };
        whole
            .checked_mul(RAO_PER_TAO)
            .and_then(|r| r.checked_add(frac_rao))
            .map(Self)
            .ok_or_else(too_large)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_tao_with_nine_decimals() {
        assert_eq!(Balance::from_rao(0).to_string(), "τ0.000000000");
        assert_eq!(Balance::from_rao(1).to_string(), "τ0.000000001");
        assert_eq!(Balance::from_tao(1).to_string(), "τ1.000000000");
        assert_eq!(
            Balance::from_rao(1_234_500_000_000).to_string(),
            "τ1,234.500000000"
        );
        assert_eq!(Balance::MAX.to_string(), "τ18,446,744,073.709551615");
    }

    #[test]
    fn parses_tao_amounts_exactly() {
        assert_eq!("1".parse::<Balance>().unwrap(), Balance::from_tao(1));
        assert_eq!("0.5".parse::<Balance>().unwrap().rao(), 500_000_000);
        assert_eq!(".25".parse::<Balance>().unwrap().rao(), 250_000_000);
        assert_eq!(
            "τ1,000.000000001".parse::<Balance>().unwrap().rao(),
            1_000_000_000_001
        );
        assert_eq!(
            "18446744073.709551615".parse::<Balance>().unwrap(),
            Balance::MAX
        );
    }

    #[test]
    fn rejects_bad_amounts() {
        assert!(matches!(
            "".parse::<Balance>(),
            Err(BalanceError::NotANumber(_))
        ));
        assert!(matches!(
            "-1".parse::<Balance>(),
            Err(BalanceError::NotANumber(_))
        ));
        assert!(matches!(
            "1e9".parse::<Balance>(),
            Err(BalanceError::NotANumber(_))
        ));
        assert!(matches!(
            "0.0000000001".parse::<Balance>(),
            Err(BalanceError::TooPrecise(_))
        ));
        assert!(matches!(
            "18446744073.709551616".parse::<Balance>(),
            Err(BalanceError::TooLarge(_))
        ));
        assert!(matches!(
            "99999999999999999999999".parse::<Balance>(),
            Err(BalanceError::TooLarge(_))
        ));
    }

    #[test]
    fn arithmetic_never_wraps() {
        assert_eq!(Balance::MAX.checked_add(Balance::from_rao(1)), None);
        assert_eq!(Balance::ZERO.checked_sub(Balance::from_rao(1)), None);
        assert_eq!(
            Balance::MAX.saturating_add(Balance::from_rao(1)),
            Balance::MAX
        );
        assert_eq!(
            Balance::ZERO.saturating_sub(Balance::from_rao(1)),
            Balance::ZERO
        );
    }
}
