//! Backup phrases typed by anyone: parsing never panics, and a phrase that parses gives the
//! same phrase and keys again.
#![no_main]
use ferro_shared::mnemonic::Mnemonic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = Mnemonic::parse(text) {
        let again = Mnemonic::parse(m.phrase()).expect("a phrase that parsed parses again");
        assert_eq!(again.phrase(), m.phrase());
        assert_eq!(again.account_key(0).public_key(), m.account_key(0).public_key());
    }
});
