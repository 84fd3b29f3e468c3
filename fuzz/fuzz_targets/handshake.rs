//! The handshake's first two messages from a stranger: a hello, then a proof of identity,
//! checked as a node checks them (network, version, the signature over our nonce).
#![no_main]
use ferro_shared::p2p::{auth_digest, Message};
use ferro_shared::{Network, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len().saturating_sub(1));
    let (first, second) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    let Ok(Message::Hello(hello)) = Message::from_frame(first) else { return };
    let network = Network::Dev;
    let ours = SecretKey::from_bytes(&[9; 32]).expect("a valid key").public_key();
    let _ = hello.node_id();
    let _ = hello.network == network && hello.genesis == network.genesis_hash();
    if let Ok(Message::Auth(proof)) = Message::from_frame(second) {
        let digest = auth_digest(&network.genesis_hash(), &[1; 32], &hello.node_key, &ours);
        let _ = hello.node_key.verify_digest(&digest, &proof);
    }
});
