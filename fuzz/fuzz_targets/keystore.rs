//! Sealed keystore blobs from anywhere (a backup file, altered browser storage): parsing and
//! opening never panic, and never take more than the bounded key-derivation work.
#![no_main]
use ferro_shared::keystore::Sealed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sealed) = serde_json::from_slice::<Sealed>(data) {
        // Keep each run fast: blobs asking for the costliest allowed work are parsed only.
        if sealed.kdf.memory_kib <= 1024 && sealed.kdf.iterations <= 2 {
            let _ = sealed.open("password");
        }
    }
});
