//! Every JSON body the HTTP API takes, and its answers' types: no panic, and what parses
//! serializes back to JSON that parses to the same value.
#![no_main]
use ferro_shared::api::{AddPeerRequest, MineRequest, SubmitBatchRequest};
use ferro_shared::Transaction;
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&value).expect("a parsed value serializes");
        let again: T = serde_json::from_slice(&json).expect("what was serialized parses");
        assert_eq!(again, value);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Transaction>(data);
    round_trip::<SubmitBatchRequest>(data);
    round_trip::<MineRequest>(data);
    round_trip::<AddPeerRequest>(data);
});
