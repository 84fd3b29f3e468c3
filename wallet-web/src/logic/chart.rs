//! Chain statistics and the geometry of the explorer's SVG chart, with no browser in it.
//!
//! ```text
//!  area.y ┬ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─  range.hi
//!         │    ▇        ▇
//!         │ ▇  ▇  ▇  ▇  ▇  ▇        one slot per value, bars centred in their slots,
//!         │ ▇  ▇  ▇  ▇  ▇  ▇ ▇      line points at the slot centres
//!  bottom ┴ ──────────────────────  range.lo
//!         area.x             area.x + area.width
//! ```

use ferro_shared::api::BlockSummary;
use ferro_shared::pow::{CompactTarget, Target};

/// How many times harder `bits` is than the network's easiest target `limit`; `None` when
/// either is not a valid compact target.
pub fn difficulty(limit: CompactTarget, bits: CompactTarget) -> Option<f64> {
    let limit = Target::from_compact(limit).ok()?;
    let target = Target::from_compact(bits).ok()?;
    Some(target_f64(&limit) / target_f64(&target))
}

fn target_f64(t: &Target) -> f64 {
    t.to_be_bytes().iter().fold(0.0, |acc, &b| acc * 256.0 + f64::from(b))
}

/// The seconds between a block and its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Height of the later block.
    pub height: u64,
    /// Negative when the later block's time is earlier, which the rules allow within limits.
    pub secs: i64,
}

/// Seconds between consecutive blocks of an ascending run of blocks; a pair that is not parent
/// and child (a gap in the list) gives no interval.
pub fn block_intervals(blocks: &[BlockSummary]) -> Vec<Interval> {
    blocks
        .windows(2)
        .filter(|w| w[1].prev == w[0].hash && w[1].height == w[0].height + 1)
        .map(|w| Interval { height: w[1].height, secs: w[1].time as i64 - w[0].time as i64 })
        .collect()
}

/// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `v`; 1 for `v <= 0`.
pub fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|candidate| *candidate >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// The values an axis spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    /// From zero (or the lowest value, when negative) up to a round number at or above the
    /// highest value, so bars start at a baseline and the top label reads well.
    pub fn from_zero(values: &[f64]) -> Range {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let max = finite.clone().fold(0.0f64, f64::max);
        let min = finite.fold(0.0f64, f64::min);
        let lo = if min < 0.0 { -nice_ceiling(-min) } else { 0.0 };
        Range { lo, hi: nice_ceiling(max) }
    }

    /// Like [`Range::from_zero`], but one outlier does not flatten the rest: the top is at most
    /// three times the 90th percentile (rounded up), and taller bars are drawn clipped. The gap
    /// after a genesis block made long before the chain started is such an outlier.
    pub fn clipped(values: &[f64]) -> Range {
        let full = Range::from_zero(values);
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let Some(&p90) = sorted.get((sorted.len().saturating_sub(1)) * 9 / 10) else { return full };
        let cap = nice_ceiling(3.0 * p90.max(0.0));
        Range { lo: full.lo, hi: full.hi.min(cap) }
    }

    /// Whether `value` lies above the top, so its bar is cut off.
    pub fn clips(&self, value: f64) -> bool {
        value > self.hi
    }

    fn span(&self) -> f64 {
        let span = self.hi - self.lo;
        if span > 0.0 {
            span
        } else {
            1.0
        }
    }
}

/// The rectangle a plot is drawn in, in SVG user units (y grows downward).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Area {
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    /// The y coordinate of `value`, clamped into the area.
    pub fn y_of(&self, value: f64, range: Range) -> f64 {
        let t = ((value - range.lo) / range.span()).clamp(0.0, 1.0);
        self.bottom() - t * self.height
    }

    fn slot(&self, count: usize) -> f64 {
        self.width / count.max(1) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// One bar per value, from the zero line (or the range's edge nearest zero) to the value.
pub fn bars(values: &[f64], area: Area, range: Range) -> Vec<Rect> {
    let slot = area.slot(values.len());
    let width = slot * 0.8;
    let base = area.y_of(0.0, range);
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let top = area.y_of(v, range);
            Rect {
                x: area.x + slot * i as f64 + (slot - width) / 2.0,
                y: top.min(base),
                width,
                height: (top - base).abs(),
            }
        })
        .collect()
}

/// One point per value at the centre of its slot, so a line lines up with bars of the same count.
pub fn line(values: &[f64], area: Area, range: Range) -> Vec<Point> {
    let slot = area.slot(values.len());
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| Point { x: area.x + slot * (i as f64 + 0.5), y: area.y_of(v, range) })
        .collect()
}

/// An SVG `points` attribute: `x,y x,y …` with one decimal.
pub fn points_attr(points: &[Point]) -> String {
    points.iter().map(|p| format!("{:.1},{:.1}", p.x, p.y)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::hash::{BlockHash, MerkleRoot};
    use ferro_shared::Amount;

    const AREA: Area = Area { x: 10.0, y: 20.0, width: 100.0, height: 50.0 };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn block(height: u64, time: u64, prev: u8) -> BlockSummary {
        BlockSummary {
            hash: BlockHash([height as u8 + 1; 32]),
            height,
            prev: BlockHash([prev; 32]),
            merkle_root: MerkleRoot::default(),
            filter_hash: Default::default(),
            time,
            bits: CompactTarget(0x207f_ffff),
            nonce: 0,
            tx_count: 1,
            size: 100,
            reward: Amount::ONE_COIN,
        }
    }

    #[test]
    fn difficulty_is_relative_to_the_limit() {
        let limit = CompactTarget(0x1f00_ffff);
        assert_eq!(difficulty(limit, limit), Some(1.0));
        // One byte smaller exponent: a target 256 times smaller.
        assert!(close(difficulty(limit, CompactTarget(0x1e00_ffff)).unwrap(), 256.0));
        // Half the mantissa: twice as hard.
        assert!(close(difficulty(CompactTarget(0x1f00_fffe), CompactTarget(0x1f00_7fff)).unwrap(), 2.0));
        assert_eq!(difficulty(limit, CompactTarget(0)), None, "zero target");
        assert_eq!(difficulty(limit, CompactTarget(0x1f80_0001)), None, "sign bit");
    }

    //   h0(t=100) ─ h1(t=110) ─ h2(t=105)      h4 (not h2's child: a gap)
    #[test]
    fn intervals_between_parent_and_child_only() {
        let b0 = block(0, 100, 0);
        let b1 = block(1, 110, 1);
        let b2 = block(2, 105, 2);
        let b4 = block(4, 200, 4);
        let got = block_intervals(&[b0, b1, b2, b4]);
        assert_eq!(got, vec![Interval { height: 1, secs: 10 }, Interval { height: 2, secs: -5 }]);
        assert!(block_intervals(&[]).is_empty());
    }

    #[test]
    fn nice_ceilings() {
        let cases = [
            (0.0, 1.0),
            (-3.0, 1.0),
            (0.3, 0.5),
            (1.0, 1.0),
            (1.2, 2.0),
            (2.2, 2.5),
            (7.0, 10.0),
            (26.0, 50.0),
        ];
        for (v, want) in cases {
            assert!(close(nice_ceiling(v), want), "{v} -> {} want {want}", nice_ceiling(v));
        }
        assert!(close(nice_ceiling(1000.0), 1000.0));
    }

    #[test]
    fn ranges_start_at_zero_or_below() {
        assert_eq!(Range::from_zero(&[3.0, 7.0]), Range { lo: 0.0, hi: 10.0 });
        assert_eq!(Range::from_zero(&[-4.0, 9.0]), Range { lo: -5.0, hi: 10.0 });
        assert_eq!(Range::from_zero(&[]), Range { lo: 0.0, hi: 1.0 });
    }

    #[test]
    fn clipped_ranges_ignore_one_outlier() {
        // Thirty quick blocks after a genesis block made months earlier.
        let mut secs = vec![28_000_000.0];
        secs.extend([1.0, 2.0, 0.0, 3.0, 1.0].repeat(6));
        let r = Range::clipped(&secs);
        assert_eq!(r, Range { lo: 0.0, hi: 10.0 });
        assert!(r.clips(28_000_000.0) && !r.clips(3.0));
        // Nothing to clip: the same as from_zero.
        assert_eq!(Range::clipped(&[3.0, 7.0, 5.0]), Range::from_zero(&[3.0, 7.0, 5.0]));
        // All zero but the outlier: the zeros decide.
        assert_eq!(Range::clipped(&[0.0, 0.0, 0.0, 500.0]), Range { lo: 0.0, hi: 1.0 });
        assert_eq!(Range::clipped(&[]), Range { lo: 0.0, hi: 1.0 });
        assert_eq!(Range::clipped(&[-8.0, 2.0, 2.0]), Range { lo: -10.0, hi: 2.0 });
    }

    #[test]
    fn y_maps_the_range_onto_the_area() {
        let r = Range { lo: 0.0, hi: 10.0 };
        assert!(close(AREA.y_of(0.0, r), 70.0));
        assert!(close(AREA.y_of(10.0, r), 20.0));
        assert!(close(AREA.y_of(5.0, r), 45.0));
        assert!(close(AREA.y_of(50.0, r), 20.0), "clamped");
        let flat = Range { lo: 3.0, hi: 3.0 };
        assert!(AREA.y_of(3.0, flat).is_finite());
    }

    #[test]
    fn bars_fill_slots_from_the_baseline() {
        let r = Range { lo: -10.0, hi: 10.0 };
        let got = bars(&[10.0, -5.0], AREA, r);
        // Two slots of 50 units; bars 40 wide, 5 from each slot edge. Zero is at y = 45.
        assert_eq!(got.len(), 2);
        assert!(close(got[0].x, 15.0) && close(got[0].width, 40.0));
        assert!(close(got[0].y, 20.0) && close(got[0].height, 25.0));
        assert!(close(got[1].x, 65.0));
        assert!(close(got[1].y, 45.0) && close(got[1].height, 12.5));
    }

    #[test]
    fn line_points_sit_at_slot_centres() {
        let r = Range { lo: 0.0, hi: 4.0 };
        let got = line(&[0.0, 4.0], AREA, r);
        assert_eq!(got, vec![Point { x: 35.0, y: 70.0 }, Point { x: 85.0, y: 20.0 }]);
        assert_eq!(points_attr(&got), "35.0,70.0 85.0,20.0");
        assert!(line(&[], AREA, r).is_empty());
    }
}
