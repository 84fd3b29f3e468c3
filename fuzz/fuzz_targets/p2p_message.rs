//! Every P2P frame: refused, or a message whose frame is exactly these bytes.
#![no_main]
use ferro_shared::p2p::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::from_frame(data) {
        assert_eq!(message.to_frame(), data, "a {} frame is not canonical", message.kind());
    }
});
