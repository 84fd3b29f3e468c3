//! Amounts of coin in integer base units, with checked arithmetic and decimal parsing.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};

/// Base units in one FRC.
pub const UNITS_PER_COIN: u64 = 100_000_000;
/// Number of decimal places in a coin string.
pub const DECIMALS: usize = 8;
/// No amount, and no sum of amounts in one transaction or block, may exceed this.
pub const MAX_MONEY: Amount = Amount(21_000_000 * UNITS_PER_COIN);

/// A non-negative number of base units (1 FRC = 100,000,000 units).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(u64);

/// Why an amount could not be computed or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount overflow")]
    Overflow,
    #[error("amount would be negative")]
    Negative,
    #[error("amount exceeds the 21,000,000 FRC money supply")]
    TooLarge,
    #[error("an amount is written like 1.5 or 0.00000001")]
    Malformed,
    #[error("an amount has at most 8 decimal places")]
    TooPrecise,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);
    pub const ONE_UNIT: Amount = Amount(1);
    pub const ONE_COIN: Amount = Amount(UNITS_PER_COIN);

    pub const fn from_units(units: u64) -> Self {
        Amount(units)
    }

    pub const fn units(self) -> u64 {
        self.0
    }

    /// Whole coins, checked against overflow.
    pub fn from_coins(coins: u64) -> Result<Self, AmountError> {
        coins.checked_mul(UNITS_PER_COIN).map(Amount).ok_or(AmountError::Overflow)
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0.checked_add(other.0).map(Amount).ok_or(AmountError::Overflow)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0.checked_sub(other.0).map(Amount).ok_or(AmountError::Negative)
    }

    pub fn checked_mul(self, factor: u64) -> Result<Amount, AmountError> {
        self.0.checked_mul(factor).map(Amount).ok_or(AmountError::Overflow)
    }

    /// Sums amounts, failing on overflow.
    pub fn sum<I: IntoIterator<Item = Amount>>(items: I) -> Result<Amount, AmountError> {
        items.into_iter().try_fold(Amount::ZERO, Amount::checked_add)
    }

    /// Whether the amount is within the money supply.
    pub fn is_valid_money(self) -> bool {
        self <= MAX_MONEY
    }

    /// Parses a decimal coin string such as `"1.5"` or `"0.00000001"`.
    pub fn parse_coins(s: &str) -> Result<Amount, AmountError> {
        let s = s.trim();
        if s.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || s.ends_with('.') {
            return Err(AmountError::Malformed);
        }
        if frac.len() > DECIMALS {
            return Err(AmountError::TooPrecise);
        }
        let whole_units = if whole.is_empty() {
            0
        } else {
            let w: u64 = whole.parse().map_err(|_| AmountError::TooLarge)?;
            w.checked_mul(UNITS_PER_COIN).ok_or(AmountError::TooLarge)?
        };
        let frac_units = if frac.is_empty() {
            0
        } else {
            let f: u64 = frac.parse().map_err(|_| AmountError::Malformed)?;
            f * 10u64.pow((DECIMALS - frac.len()) as u32)
        };
        let amount = Amount(whole_units.checked_add(frac_units).ok_or(AmountError::TooLarge)?);
        if !amount.is_valid_money() {
            return Err(AmountError::TooLarge);
        }
        Ok(amount)
    }

    /// The amount as a decimal coin string without trailing zeros: `1.5`, `0.00000001`, `2`.
    pub fn to_coin_string(self) -> String {
        let whole = self.0 / UNITS_PER_COIN;
        let frac = self.0 % UNITS_PER_COIN;
        if frac == 0 {
            return whole.to_string();
        }
        let frac = format!("{frac:08}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl core::fmt::Display for Amount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} FRC", self.to_coin_string())
    }
}

impl core::fmt::Debug for Amount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl Encode for Amount {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

impl Decode for Amount {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u64::decode(r).map(Amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<u64, AmountError>)] = &[
            ("1.5", Ok(150_000_000)),
            ("0.00000001", Ok(1)),
            ("2", Ok(200_000_000)),
            (".5", Ok(50_000_000)),
            ("21000000", Ok(21_000_000 * UNITS_PER_COIN)),
            ("21000000.00000001", Err(AmountError::TooLarge)),
            ("99999999999999999999", Err(AmountError::TooLarge)),
            ("-1", Err(AmountError::Negative)),
            ("0.000000001", Err(AmountError::TooPrecise)),
            ("", Err(AmountError::Malformed)),
            ("1.", Err(AmountError::Malformed)),
            ("1,5", Err(AmountError::Malformed)),
            ("1e3", Err(AmountError::Malformed)),
            (".", Err(AmountError::Malformed)),
        ];
        for (input, want) in cases {
            assert_eq!(Amount::parse_coins(input).map(Amount::units), *want, "input {input:?}");
        }
    }

    #[test]
    fn display_trims_zeros() {
        assert_eq!(Amount(150_000_000).to_coin_string(), "1.5");
        assert_eq!(Amount(1).to_coin_string(), "0.00000001");
        assert_eq!(Amount(0).to_coin_string(), "0");
        assert_eq!(Amount(5 * UNITS_PER_COIN).to_string(), "5 FRC");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount(u64::MAX).checked_add(Amount(1)), Err(AmountError::Overflow));
        assert_eq!(Amount(1).checked_sub(Amount(2)), Err(AmountError::Negative));
        assert_eq!(Amount(u64::MAX).checked_mul(2), Err(AmountError::Overflow));
        assert_eq!(Amount::sum([Amount(u64::MAX), Amount(1)]), Err(AmountError::Overflow));
        assert_eq!(Amount::from_coins(u64::MAX), Err(AmountError::Overflow));
        assert_eq!(Amount::sum([Amount(1), Amount(2)]), Ok(Amount(3)));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(units in 0..=MAX_MONEY.units()) {
            let a = Amount(units);
            prop_assert_eq!(Amount::parse_coins(&a.to_coin_string()), Ok(a));
        }
    }
}
