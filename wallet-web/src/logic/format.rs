//! How the explorer writes numbers for people: times, durations, sizes, hashes, difficulty.
//! Pure, so every case is tested natively.

use ferro_shared::Amount;

/// A 64-character hash as `0123abcd…6789cdef`; anything shorter is returned whole.
pub fn short_hash(hex: &str) -> String {
    const SIDE: usize = 8;
    if hex.len() <= 2 * SIDE + 1 || !hex.is_ascii() {
        return hex.to_string();
    }
    format!("{}…{}", &hex[..SIDE], &hex[hex.len() - SIDE..])
}

/// Seconds since the Unix epoch as `2026-01-01 00:00:00 UTC`.
pub fn utc_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A span of seconds in its two largest units: `45 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) if s == 0 => format!("{m} min"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) if m == 0 => format!("{h} h"),
        (0, _, _) => format!("{h} h {m} min"),
        _ if h == 0 => format!("{d} d"),
        _ => format!("{d} d {h} h"),
    }
}

/// How long before `now` something happened at `then` (both Unix seconds). A time ahead of
/// `now` (clocks differ) reads as `just now`.
pub fn ago(now: u64, then: u64) -> String {
    match now.checked_sub(then) {
        Some(0) | None => "just now".to_string(),
        Some(secs) => format!("{} ago", duration(secs)),
    }
}

/// A byte count in decimal units: `512 B`, `1.5 kB`, `2.25 MB`.
pub fn bytes(n: usize) -> String {
    let n = n as f64;
    if n < 1000.0 {
        format!("{n} B")
    } else if n < 1_000_000.0 {
        format!("{} kB", trim_decimals(n / 1000.0, 2))
    } else {
        format!("{} MB", trim_decimals(n / 1_000_000.0, 2))
    }
}

/// `value` with at most `places` decimals and no trailing zeros: `1.5`, `2`, `0.25`.
pub fn trim_decimals(value: f64, places: usize) -> String {
    let s = format!("{value:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A difficulty for display: up to three decimals below 1,000, then whole numbers with
/// thousands separators, then with `M`/`G`/`T` suffixes.
pub fn difficulty(d: f64) -> String {
    if !d.is_finite() || d < 0.0 {
        return "unknown".to_string();
    }
    if d < 1000.0 {
        return trim_decimals(d, 3);
    }
    if d < 1e6 {
        return thousands(d.round() as u64);
    }
    let (scaled, suffix) = [(1e12, "T"), (1e9, "G"), (1e6, "M")]
        .into_iter()
        .find(|(unit, _)| d >= *unit)
        .map(|(unit, s)| (d / unit, s))
        .unwrap_or((d, ""));
    format!("{} {suffix}", trim_decimals(scaled, 2))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A fraction 0.0..=1.0 as a whole percentage, clamped: `45%`.
pub fn percent(fraction: f64) -> String {
    let p = if fraction.is_finite() { (fraction * 100.0).clamp(0.0, 100.0) } else { 0.0 };
    format!("{}%", p.floor())
}

/// What a transaction did to an address, signed: `+1.5 FRC`, `−0.25 FRC`, `0 FRC`.
pub fn net_amount(received: Amount, sent: Amount) -> String {
    if received >= sent {
        let net = Amount::from_units(received.units() - sent.units());
        if net == Amount::ZERO {
            net.to_string()
        } else {
            format!("+{net}")
        }
    } else {
        format!("−{}", Amount::from_units(sent.units() - received.units()))
    }
}

/// `1 transaction`, `3 transactions`: a count and a noun made plural by an `s`.
pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {}", noun_for(n as u64, noun))
}

/// The noun alone, as it follows the number `n`: `transaction`, `transactions`.
pub fn noun_for(n: u64, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}

/// Fee per byte, rounded down as the node rounds it; 0 for an empty size.
pub fn fee_rate(fee: Amount, size: usize) -> u64 {
    fee.units().checked_div(size as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hash_keeps_both_ends() {
        let h = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert_eq!(short_hash(h), "00112233…ccddeeff");
        assert_eq!(short_hash("abc"), "abc");
    }

    #[test]
    fn utc_times() {
        let cases = [
            ("epoch", 0, "1970-01-01 00:00:00 UTC"),
            ("genesis of both networks", 1_767_225_600, "2026-01-01 00:00:00 UTC"),
            ("leap day", 951_782_400 + 3_723, "2000-02-29 01:02:03 UTC"),
            ("end of a year", 1_735_689_599, "2024-12-31 23:59:59 UTC"),
        ];
        for (name, secs, want) in cases {
            assert_eq!(utc_time(secs), want, "{name}");
        }
    }

    #[test]
    fn durations_use_two_units() {
        let cases = [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (185, "3 min 5 s"),
            (3600, "1 h"),
            (7440, "2 h 4 min"),
            (86_400, "1 d"),
            (3 * 86_400 + 2 * 3600 + 59, "3 d 2 h"),
        ];
        for (secs, want) in cases {
            assert_eq!(duration(secs), want, "{secs}");
        }
        assert_eq!(ago(100, 40), "1 min ago");
        assert_eq!(ago(100, 100), "just now");
        assert_eq!(ago(100, 160), "just now", "a clock ahead of ours");
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1500), "1.5 kB");
        assert_eq!(bytes(2_250_000), "2.25 MB");
    }

    #[test]
    fn difficulties() {
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (256.0039, "256.004"),
            (12_345.6, "12,346"),
            (2_500_000.0, "2.5 M"),
            (3.0e9, "3 G"),
            (4.25e12, "4.25 T"),
            (f64::NAN, "unknown"),
        ];
        for (d, want) in cases {
            assert_eq!(difficulty(d), want, "{d}");
        }
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn percents_are_clamped() {
        assert_eq!(percent(0.456), "45%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(1.7), "100%");
        assert_eq!(percent(f64::NAN), "0%");
    }

    #[test]
    fn net_amounts_are_signed() {
        let a = Amount::from_units;
        assert_eq!(net_amount(a(150_000_000), a(0)), "+1.5 FRC");
        assert_eq!(net_amount(a(0), a(25_000_000)), "−0.25 FRC");
        assert_eq!(net_amount(a(5), a(5)), "0 FRC");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(0, "peer"), "0 peers");
        assert_eq!(plural(1, "peer"), "1 peer");
        assert_eq!(plural(2, "transaction"), "2 transactions");
        assert_eq!(noun_for(1, "confirmation"), "confirmation");
        assert_eq!(noun_for(3, "transaction"), "transactions");
    }

    #[test]
    fn fee_rates_round_down() {
        assert_eq!(fee_rate(Amount::from_units(1000), 300), 3);
        assert_eq!(fee_rate(Amount::from_units(1000), 0), 0);
    }
}
