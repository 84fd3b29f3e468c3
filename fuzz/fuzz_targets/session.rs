//! One peer connection's state machine fed arbitrary frames, ticks and tip moves, with the
//! node's answers that make it hold the most: its limits hold after every step
//! (`ferro_node::p2p::drive`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferro_node::p2p::drive::drive(data);
});
