//! Chain-level rules: subsidy schedule, median time past, and the difficulty retarget.

use crate::amount::Amount;
use crate::params::Params;
use crate::pow::{CompactTarget, Target};

/// The new coins a block at `height` may create: the initial subsidy halved every
/// `halving_interval` blocks, zero after 64 halvings.
pub fn block_subsidy(params: &Params, height: u64) -> Amount {
    let halvings = height / params.halving_interval;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_units(params.initial_subsidy.units() >> halvings)
}

/// The median of the given block times (the parent and up to `median_time_span - 1` of its
/// ancestors). A new block's time must exceed it.
pub fn median_time_past(times: &[u64]) -> u64 {
    if times.is_empty() {
        return 0;
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// If the block at `next_height` starts a new difficulty epoch, the height of the first block of
/// the epoch that just ended, whose time the retarget needs.
pub fn retarget_anchor_height(params: &Params, next_height: u64) -> Option<u64> {
    let interval = params.retarget_interval?;
    (next_height > 0 && next_height % interval == 0).then(|| next_height - interval)
}

/// The target required of the block at `next_height`, computed from the chain, never taken
/// from the block.
///
/// Without a retarget interval, or inside an epoch, it is the parent's. At an epoch boundary the
/// parent's target is scaled by `actual / expected`, where `actual` is the time from the epoch's
/// first block (`anchor_time`) to the parent and `expected = (interval - 1) * target_block_secs`;
/// the ratio is clamped to `[1/f, f]` with `f = max_retarget_factor`, and the result never
/// exceeds `pow_limit`.
pub fn next_bits(
    params: &Params,
    next_height: u64,
    parent_bits: CompactTarget,
    parent_time: u64,
    anchor_time: Option<u64>,
) -> CompactTarget {
    let (Some(interval), Some(_), Some(anchor_time)) =
        (params.retarget_interval, retarget_anchor_height(params, next_height), anchor_time)
    else {
        return parent_bits;
    };
    let limit = Target::from_compact(params.pow_limit).expect("network pow limits are valid");
    let Ok(parent) = Target::from_compact(parent_bits) else {
        return params.pow_limit;
    };
    let expected = (interval - 1) * params.target_block_secs;
    let f = params.max_retarget_factor;
    let actual = parent_time.saturating_sub(anchor_time);
    let (num, den) = if actual.saturating_mul(f) < expected {
        (1, f)
    } else if actual > expected.saturating_mul(f) {
        (f, 1)
    } else {
        (actual, expected)
    };
    parent.scale(num, den, limit).to_compact()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;

    #[test]
    fn subsidy_halves() {
        let p = Network::Dev.params();
        assert_eq!(block_subsidy(p, 0), Amount::from_coins(50).unwrap());
        assert_eq!(block_subsidy(p, p.halving_interval - 1), Amount::from_coins(50).unwrap());
        assert_eq!(block_subsidy(p, p.halving_interval), Amount::from_coins(25).unwrap());
        assert_eq!(block_subsidy(p, p.halving_interval * 64), Amount::ZERO);
    }

    #[test]
    fn median_of_times() {
        assert_eq!(median_time_past(&[]), 0);
        assert_eq!(median_time_past(&[5]), 5);
        assert_eq!(median_time_past(&[9, 1, 5]), 5);
        assert_eq!(median_time_past(&[1, 2, 3, 4, 100, 6, 7, 8, 9, 10, 11]), 7);
    }

    #[test]
    fn retarget_table() {
        let p = Network::Test.params();
        let interval = p.retarget_interval.unwrap();
        let expected = (interval - 1) * p.target_block_secs;
        let start = CompactTarget(0x1e00_ffff);
        struct Case {
            name: &'static str,
            height: u64,
            span: u64,
            want: u32,
        }
        let cases = [
            Case { name: "inside an epoch", height: interval + 1, span: 1, want: 0x1e00_ffff },
            Case { name: "on schedule", height: interval, span: expected, want: 0x1e00_ffff },
            Case { name: "twice as slow: easier", height: interval, span: expected * 2, want: 0x1e01_fffe },
            Case { name: "twice as fast: harder", height: interval, span: expected / 2, want: 0x1d7f_ff80 },
            Case {
                name: "far too slow: clamped to 4x",
                height: interval,
                span: expected * 100,
                want: 0x1e03_fffc,
            },
            Case { name: "far too fast: clamped to 1/4", height: interval, span: 0, want: 0x1d3f_ffc0 },
        ];
        for c in cases {
            let got = next_bits(p, c.height, start, 1_000_000 + c.span, Some(1_000_000));
            assert_eq!(got, CompactTarget(c.want), "{}", c.name);
        }
        // Never easier than the network's limit.
        let at_limit = next_bits(p, interval, p.pow_limit, 1_000_000 + expected * 4, Some(1_000_000));
        assert_eq!(at_limit, p.pow_limit);
    }

    #[test]
    fn dev_never_retargets() {
        let p = Network::Dev.params();
        assert_eq!(retarget_anchor_height(p, 2016), None);
        assert_eq!(next_bits(p, 2016, p.pow_limit, 0, Some(0)), p.pow_limit);
        let t = Network::Test.params();
        assert_eq!(retarget_anchor_height(t, 0), None);
        assert_eq!(retarget_anchor_height(t, 40), Some(20));
        assert_eq!(retarget_anchor_height(t, 41), None);
    }
}
