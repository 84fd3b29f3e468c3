//! A transaction's canonical decoding: anything that decodes re-encodes to the same bytes, and
//! the shape checks, txid and signature message never panic on it.
#![no_main]
use ferro_shared::consensus::check_tx_shape;
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::{Network, Transaction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = from_bytes::<Transaction>(data) {
        assert_eq!(to_bytes(&tx), data, "a transaction decodes from bytes that are not its encoding");
        let _ = check_tx_shape(&tx, Network::Dev.params());
        let _ = tx.txid();
        let _ = tx.sighash(&Network::Dev.genesis_hash(), &[]);
    }
});
