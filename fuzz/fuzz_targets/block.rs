//! A block's canonical decoding, and the body checks and filter on what decodes.
#![no_main]
use ferro_shared::consensus::check_block_body;
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::{Block, Network};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = from_bytes::<Block>(data) {
        assert_eq!(to_bytes(&block), data, "a block decodes from bytes that are not its encoding");
        let _ = check_block_body(&block, Network::Dev.params());
        let _ = block.compute_filter();
    }
});
