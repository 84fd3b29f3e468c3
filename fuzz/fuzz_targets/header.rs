//! A header's canonical decoding, and the header-chain checks on top of genesis: what a light
//! client and headers-first sync run on headers from strangers.
#![no_main]
use ferro_shared::block::BlockHeader;
use ferro_shared::consensus::HeaderTail;
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::pow::Target;
use ferro_shared::Network;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let network = Network::Test;
    let genesis = network.genesis_block().header;
    let work = Target::from_compact(genesis.bits).map(|t| t.work()).unwrap_or_default();
    let mut tail = HeaderTail::new(network.params(), vec![genesis], work).expect("genesis alone is a tail");
    let headers: Vec<BlockHeader> = data.chunks(128).filter_map(|c| from_bytes::<BlockHeader>(c).ok()).collect();
    for (chunk, header) in data.chunks(128).zip(&headers) {
        assert_eq!(to_bytes(header), chunk, "a header decodes from bytes that are not its encoding");
    }
    let before = tail.work();
    if let Ok(hashes) = tail.extend(&headers, u64::MAX / 2) {
        assert_eq!(hashes.len(), headers.len());
        assert!(headers.is_empty() || tail.work() > before, "headers that pass add work");
    }
});
