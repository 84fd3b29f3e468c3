//! Proof of work: targets, their compact form, block work, and the difficulty retarget.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use crate::hash::BlockHash;
use crypto_bigint::{Encoding, U256};
use serde::{Deserialize, Serialize};

/// A 256-bit target in the 32-bit compact form of block headers: the top byte is a base-256
/// exponent `e`, the low 23 bits a mantissa `m`, and the target is `m * 256^(e-3)`. Bit 23
/// (a sign in other systems) must be zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CompactTarget(pub u32);

impl core::fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CompactTarget({:#010x})", self.0)
    }
}

/// Why a compact target is not a valid target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("compact target {0:#010x} has the sign bit set")]
    Negative(u32),
    #[error("compact target {0:#010x} is zero")]
    Zero(u32),
    #[error("compact target {0:#010x} exceeds 256 bits")]
    Overflow(u32),
}

/// A full 256-bit target: a block hash, read as a big-endian number, must not exceed it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

impl core::fmt::Debug for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Target({})", hex::encode(self.0.to_be_bytes()))
    }
}

impl Target {
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Target(U256::from_be_bytes(bytes))
    }

    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Whether a block hash meets this target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        U256::from_be_bytes(hash.0) <= self.0
    }

    /// The expected number of hashes to find a block at this target: `2^256 / (target + 1)`.
    pub fn work(&self) -> Work {
        if self.0 == U256::MAX {
            return Work(U256::ONE);
        }
        // 2^256 / (t + 1) == (!t / (t + 1)) + 1, which stays within 256 bits.
        let divisor = self.0.wrapping_add(&U256::ONE);
        Work(self.0.not().wrapping_div(&divisor).wrapping_add(&U256::ONE))
    }

    /// Decodes a compact target.
    pub fn from_compact(c: CompactTarget) -> Result<Target, TargetError> {
        let exponent = (c.0 >> 24) as usize;
        let mantissa = c.0 & 0x007f_ffff;
        if c.0 & 0x0080_0000 != 0 {
            return Err(TargetError::Negative(c.0));
        }
        let value = if exponent <= 3 {
            U256::from_u32(mantissa >> (8 * (3 - exponent)))
        } else {
            let shift = 8 * (exponent - 3);
            let m = U256::from_u32(mantissa);
            if mantissa != 0 && m.bits_vartime() + shift > 256 {
                return Err(TargetError::Overflow(c.0));
            }
            m.shl_vartime(shift)
        };
        if value == U256::ZERO {
            return Err(TargetError::Zero(c.0));
        }
        Ok(Target(value))
    }

    /// Encodes this target compactly, rounding down to the 23-bit mantissa's precision.
    pub fn to_compact(&self) -> CompactTarget {
        let mut size = self.0.bits_vartime().div_ceil(8);
        let mut mantissa = if size <= 3 {
            low_u32(&self.0) << (8 * (3 - size))
        } else {
            low_u32(&self.0.shr_vartime(8 * (size - 3)))
        };
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8;
            size += 1;
        }
        CompactTarget(mantissa | ((size as u32) << 24))
    }

    /// `self * numerator / denominator`, saturating at `limit`.
    pub fn scale(&self, numerator: u64, denominator: u64, limit: Target) -> Target {
        let num = U256::from_u64(numerator);
        let den = U256::from_u64(denominator.max(1));
        let (lo, hi) = self.0.mul_wide(&num);
        let scaled = if hi == U256::ZERO {
            lo.wrapping_div(&den)
        } else {
            // Too large for 256 bits before dividing; divide first and lose only low bits.
            self.0.wrapping_div(&den).saturating_mul(&num)
        };
        Target(scaled.min(limit.0))
    }
}

fn low_u32(v: &U256) -> u32 {
    let bytes = v.to_be_bytes();
    u32::from_be_bytes([bytes[28], bytes[29], bytes[30], bytes[31]])
}

/// Accumulated proof of work: the expected number of hashes behind a chain. Chains are
/// compared by this, never by length.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Work(U256);

impl Work {
    pub const ZERO: Work = Work(U256::ZERO);

    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Work(U256::from_be_bytes(bytes))
    }

    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Sum of two amounts of work, saturating (real chains are far from 2^256).
    pub fn saturating_add(&self, other: &Work) -> Work {
        Work(self.0.saturating_add(&other.0))
    }

    /// The low 64 bits, for display of small values.
    pub fn low_u64(&self) -> u64 {
        let b = self.0.to_be_bytes();
        u64::from_be_bytes(b[24..].try_into().expect("8 bytes"))
    }
}

impl core::fmt::Debug for Work {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Work({})", self)
    }
}

impl core::fmt::Display for Work {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = self.0.to_be_bytes();
        let start = b.iter().position(|&x| x != 0).unwrap_or(31);
        f.write_str(&hex::encode(&b[start..]))
    }
}

/// Hex without leading zeros in the JSON API; the 32 big-endian bytes on the P2P wire.
impl Serialize for Work {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            crate::encode::fixed::serialize(&self.to_be_bytes(), s)
        }
    }
}

impl<'de> Deserialize<'de> for Work {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !d.is_human_readable() {
            return crate::encode::fixed::deserialize::<D, 32>(d).map(Work::from_be_bytes);
        }
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.is_empty() || s.len() > 64 {
            return Err(serde::de::Error::custom("work is 1 to 64 hex digits"));
        }
        let padded = format!("{:0>64}", s);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(padded, &mut bytes).map_err(serde::de::Error::custom)?;
        Ok(Work::from_be_bytes(bytes))
    }
}

impl Encode for CompactTarget {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

impl Decode for CompactTarget {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u32::decode(r).map(CompactTarget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compact_table() {
        struct Case {
            name: &'static str,
            bits: u32,
            want: Result<&'static str, TargetError>,
        }
        let cases = [
            Case {
                name: "bitcoin genesis",
                bits: 0x1d00ffff,
                want: Ok("00000000ffff0000000000000000000000000000000000000000000000000000"),
            },
            Case {
                name: "easiest dev target",
                bits: 0x207fffff,
                want: Ok("7fffff0000000000000000000000000000000000000000000000000000000000"),
            },
            Case {
                name: "small exponent",
                bits: 0x01120000,
                want: Ok("0000000000000000000000000000000000000000000000000000000000000012"),
            },
            Case { name: "sign bit", bits: 0x04923456, want: Err(TargetError::Negative(0x04923456)) },
            Case { name: "zero", bits: 0x1d000000, want: Err(TargetError::Zero(0x1d000000)) },
            Case { name: "overflow", bits: 0x2200ffff, want: Err(TargetError::Overflow(0x2200ffff)) },
        ];
        for c in cases {
            let got = Target::from_compact(CompactTarget(c.bits)).map(|t| hex::encode(t.to_be_bytes()));
            assert_eq!(got, c.want.map(String::from), "{}", c.name);
        }
    }

    #[test]
    fn work_values() {
        let easiest = Target::from_compact(CompactTarget(0x207fffff)).unwrap();
        assert_eq!(easiest.work().low_u64(), 2);
        let btc = Target::from_compact(CompactTarget(0x1d00ffff)).unwrap();
        assert_eq!(btc.work().low_u64(), 0x0001_0001_0001);
        assert!(btc.work() > easiest.work());
    }

    #[test]
    fn hash_against_target() {
        let t = Target::from_compact(CompactTarget(0x1f00ffff)).unwrap();
        // 0x1f00ffff is 0x0000ffff00…00.
        let mut h = [0u8; 32];
        h[2] = 0xff;
        h[3] = 0xff;
        assert!(t.is_met_by(&BlockHash(h)));
        h[4] = 1;
        assert!(!t.is_met_by(&BlockHash(h)));
    }

    #[test]
    fn scale_saturates_at_limit() {
        let limit = Target::from_compact(CompactTarget(0x207fffff)).unwrap();
        let t = Target::from_compact(CompactTarget(0x1f00ffff)).unwrap();
        assert_eq!(t.scale(2, 1, limit).to_compact(), CompactTarget(0x1f01fffe));
        assert_eq!(t.scale(1, 4, limit).to_compact(), CompactTarget(0x1e3fffc0));
        assert_eq!(limit.scale(4, 1, limit), limit);
    }

    proptest! {
        #[test]
        fn compact_round_trips(exp in 3u32..=0x20, mant in 0x8000u32..0x7fffff) {
            let bits = CompactTarget((exp << 24) | mant);
            if let Ok(t) = Target::from_compact(bits) {
                prop_assert_eq!(Target::from_compact(t.to_compact()).unwrap(), t);
            }
        }
    }
}
