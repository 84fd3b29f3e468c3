//! Addresses typed or pasted by anyone: parsing never panics, and what parses prints back to
//! the same address.
#![no_main]
use ferro_shared::Address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(address) = Address::parse_any(text) {
        let printed = address.to_string();
        assert_eq!(Address::parse_any(&printed).expect("a printed address parses"), address);
    }
});
