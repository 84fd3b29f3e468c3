//! Block filters from a node the wallet does not trust: decoding and matching never panic, and
//! the bytes that decode are the filter's own.
#![no_main]
use ferro_shared::filter::BlockFilter;
use ferro_shared::hash::{MerkleRoot, PubkeyHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = MerkleRoot([7; 32]);
    if let Ok(filter) = BlockFilter::from_bytes(data.to_vec()) {
        assert_eq!(filter.as_bytes(), data);
        let _ = filter.decode(&key);
        let _ = filter.matches_any(&key, &[PubkeyHash([1; 32]), PubkeyHash([2; 32])]);
    }
});
