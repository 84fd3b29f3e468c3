//! Addresses: bech32m strings with a network prefix, committing to a public key hash.
//!
//! `fdev1…` on the dev network, `ftest1…` on the test network. The data part is the 32-byte
//! SHA-256 of the owner's compressed public key.

use crate::hash::PubkeyHash;
use crate::keys::PublicKey;
use crate::params::Network;
use bech32::primitives::decode::{CheckedHrpstring, CheckedHrpstringError};
use bech32::{Bech32m, Hrp};

/// Why a string is not an address of the expected network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("address checksum does not match: check for a typo")]
    BadChecksum,
    #[error("not a bech32m address")]
    NotBech32m,
    #[error("address prefix {0:?} belongs to no Ferrocoin network")]
    UnknownPrefix(String),
    #[error("address is for the {found} network, but this is the {expected} network")]
    WrongNetwork { expected: Network, found: Network },
    #[error("address data must be 32 bytes, got {0}")]
    BadLength(usize),
    #[error("address is not in its canonical form (nonzero padding bits)")]
    NonCanonical,
}

/// An address: a network and the public key hash it pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    pub network: Network,
    pub hash: PubkeyHash,
}

impl Address {
    pub fn new(network: Network, hash: PubkeyHash) -> Self {
        Address { network, hash }
    }

    pub fn from_public_key(network: Network, key: &PublicKey) -> Self {
        Address { network, hash: key.pubkey_hash() }
    }

    /// Parses an address of any Ferrocoin network.
    pub fn parse_any(s: &str) -> Result<Address, AddressError> {
        let checked = CheckedHrpstring::new::<Bech32m>(s).map_err(|e| match e {
            CheckedHrpstringError::Checksum(_) => AddressError::BadChecksum,
            _ => AddressError::NotBech32m,
        })?;
        let prefix = checked.hrp().to_lowercase();
        let network = Network::ALL
            .iter()
            .copied()
            .find(|n| n.params().address_prefix == prefix)
            .ok_or(AddressError::UnknownPrefix(prefix))?;
        let data: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = data.as_slice().try_into().map_err(|_| AddressError::BadLength(data.len()))?;
        let address = Address { network, hash: PubkeyHash(bytes) };
        // bech32 drops the padding bits of the last character; insist they were zero so each
        // address has exactly one spelling (upper case aside).
        if address.to_string() != s.to_lowercase() {
            return Err(AddressError::NonCanonical);
        }
        Ok(address)
    }

    /// Parses an address and requires it to belong to `network`.
    pub fn parse(s: &str, network: Network) -> Result<Address, AddressError> {
        let addr = Address::parse_any(s)?;
        if addr.network != network {
            return Err(AddressError::WrongNetwork { expected: network, found: addr.network });
        }
        Ok(addr)
    }
}

impl core::fmt::Display for Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let hrp = Hrp::parse(self.network.params().address_prefix).expect("network prefixes are valid");
        let s = bech32::encode::<Bech32m>(hrp, self.hash.as_bytes()).expect("32 bytes fit in an address");
        f.write_str(&s)
    }
}

impl core::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse_any(s)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::primitives::iter::Fe32IterExt;
    use proptest::prelude::*;

    fn addr() -> Address {
        Address::new(Network::Dev, PubkeyHash([0x42; 32]))
    }

    #[test]
    fn round_trip_and_prefix() {
        let s = addr().to_string();
        assert!(s.starts_with("fdev1"), "{s}");
        assert_eq!(Address::parse(&s, Network::Dev), Ok(addr()));
        assert_eq!(Address::parse(&s.to_uppercase(), Network::Dev), Ok(addr()));
    }

    #[test]
    fn typo_is_a_checksum_error() {
        let s = addr().to_string();
        let mut chars: Vec<char> = s.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(Address::parse(&typo, Network::Dev), Err(AddressError::BadChecksum));
    }

    #[test]
    fn other_network_is_refused() {
        let s = Address::new(Network::Test, PubkeyHash([1; 32])).to_string();
        assert!(s.starts_with("ftest1"));
        assert_eq!(
            Address::parse(&s, Network::Dev),
            Err(AddressError::WrongNetwork { expected: Network::Dev, found: Network::Test })
        );
    }

    #[test]
    fn padding_bits_must_be_zero() {
        let s = addr().to_string();
        // The last data character before the 6-character checksum carries 4 padding bits;
        // re-encode with a different value there and a valid checksum.
        let checked = CheckedHrpstring::new::<Bech32m>(&s).unwrap();
        let mut fes: Vec<bech32::Fe32> = checked.fe32_iter::<std::vec::IntoIter<u8>>().collect();
        let last = fes.len() - 1;
        fes[last] = bech32::Fe32::try_from(fes[last].to_u8() ^ 1).unwrap();
        let hrp = Hrp::parse("fdev").unwrap();
        let twin: String = fes.iter().copied().with_checksum::<Bech32m>(&hrp).chars().collect();
        assert_ne!(twin, s);
        assert_eq!(Address::parse(&twin, Network::Dev), Err(AddressError::NonCanonical));
    }

    #[test]
    fn other_errors() {
        let bc = bech32::encode::<Bech32m>(Hrp::parse("bc").unwrap(), &[0u8; 32]).unwrap();
        assert_eq!(Address::parse_any(&bc), Err(AddressError::UnknownPrefix("bc".into())));
        let short = bech32::encode::<Bech32m>(Hrp::parse("fdev").unwrap(), &[0u8; 20]).unwrap();
        assert_eq!(Address::parse_any(&short), Err(AddressError::BadLength(20)));
        let legacy = bech32::encode::<bech32::Bech32>(Hrp::parse("fdev").unwrap(), &[0u8; 32]).unwrap();
        assert_eq!(Address::parse_any(&legacy), Err(AddressError::BadChecksum));
        assert_eq!(Address::parse_any("hello"), Err(AddressError::NotBech32m));
    }

    proptest! {
        #[test]
        fn any_hash_round_trips(bytes: [u8; 32], test_net: bool) {
            let network = if test_net { Network::Test } else { Network::Dev };
            let a = Address::new(network, PubkeyHash(bytes));
            prop_assert_eq!(Address::parse(&a.to_string(), network), Ok(a));
        }
    }
}
