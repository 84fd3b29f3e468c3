//! What the explorer's search box was given, decided by its form alone.

/// A search, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Nothing typed.
    Empty,
    /// Digits: a block height.
    Height(u64),
    /// 64 hex digits, lower-cased: a block hash or a txid (only the node can tell which).
    Hash(String),
    /// Shaped like a bech32 string (`prefix1data`), lower-cased; the node checks the rest and
    /// explains what is wrong with it.
    Address(String),
    /// None of those.
    Unknown,
}

/// Classifies what was typed into the search box.
pub fn classify(input: &str) -> Query {
    let s = input.trim();
    if s.is_empty() {
        return Query::Empty;
    }
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Query::Hash(s.to_ascii_lowercase());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(Query::Height).unwrap_or(Query::Unknown);
    }
    if looks_like_bech32(s) {
        return Query::Address(s.to_ascii_lowercase());
    }
    Query::Unknown
}

/// A human-readable part, the separator `1`, and at least a checksum's worth of data, all
/// alphanumeric and in one case (bech32 forbids mixing).
fn looks_like_bech32(s: &str) -> bool {
    let Some((hrp, data)) = s.rsplit_once('1') else { return false };
    let one_case = s == s.to_ascii_lowercase() || s == s.to_ascii_uppercase();
    !hrp.is_empty()
        && hrp.bytes().all(|b| b.is_ascii_alphabetic())
        && data.len() >= 6
        && data.bytes().all(|b| b.is_ascii_alphanumeric())
        && one_case
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::{Address, Network, PubkeyHash};

    #[test]
    fn classify_table() {
        let hash = "00ff".repeat(16);
        let address = Address::new(Network::Dev, PubkeyHash([7; 32])).to_string();
        let cases = [
            ("empty", "   ".to_string(), Query::Empty),
            ("height", " 42 ".to_string(), Query::Height(42)),
            ("genesis", "0".to_string(), Query::Height(0)),
            ("too high for a height", "99999999999999999999".to_string(), Query::Unknown),
            ("hash", hash.clone(), Query::Hash(hash.clone())),
            ("upper-case hash", hash.to_uppercase(), Query::Hash(hash.clone())),
            ("all-digit hash", "1".repeat(64), Query::Hash("1".repeat(64))),
            ("63 hex digits", hash[1..].to_string(), Query::Unknown),
            ("address", address.clone(), Query::Address(address.clone())),
            ("upper-case address", address.to_uppercase(), Query::Address(address.clone())),
            ("address with a typo", format!("{address}q"), Query::Address(format!("{address}q"))),
            ("mixed case", "fdev1QQQQQQQQ".to_string(), Query::Unknown),
            ("no separator", "hello".to_string(), Query::Unknown),
            ("no prefix", "1qqqqqqqq".to_string(), Query::Unknown),
            ("punctuation", "fdev1qqq-qqqq".to_string(), Query::Unknown),
        ];
        for (name, input, want) in cases {
            assert_eq!(classify(&input), want, "{name}");
        }
    }
}
