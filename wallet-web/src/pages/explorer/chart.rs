//! The home page's chart of block times and difficulty, drawn as inline SVG from the pure
//! geometry in [`crate::logic::chart`].

use crate::logic::chart::{bars, block_intervals, difficulty, line, points_attr, Area, Range};
use crate::logic::format::{difficulty as fmt_difficulty, duration};
use ferro_shared::api::BlockSummary;
use ferro_shared::Network;
use yew::prelude::*;

const WIDTH: f64 = 640.0;
const TIMES: Area = Area { x: 56.0, y: 28.0, width: 572.0, height: 86.0 };
const DIFFICULTY: Area = Area { x: 56.0, y: 158.0, width: 572.0, height: 86.0 };
const HEIGHT: f64 = 268.0;

/// Block times (bars) and difficulty (a line) of `blocks`, oldest first.
pub fn view_chart(blocks: &[BlockSummary], network: Option<Network>) -> Html {
    let intervals = block_intervals(blocks);
    if intervals.is_empty() {
        return html! {
            <div class="explorer-chart" data-testid="chart">
                <p class="hint">{ "The chart needs at least two blocks." }</p>
            </div>
        };
    }
    let secs: Vec<f64> = intervals.iter().map(|i| i.secs as f64).collect();
    let time_range = Range::clipped(&secs);
    let time_bars = bars(&secs, TIMES, time_range);
    let target = network.map(|n| n.params().target_block_secs as f64);

    // Difficulty of the same blocks as the bars: each interval's later block.
    let by_height: Vec<(u64, f64)> = match network {
        Some(n) => blocks
            .iter()
            .filter(|b| intervals.iter().any(|i| i.height == b.height))
            .filter_map(|b| Some((b.height, difficulty(n.params().pow_limit, b.bits)?)))
            .collect(),
        None => Vec::new(),
    };
    let diffs: Vec<f64> = by_height.iter().map(|(_, d)| *d).collect();
    let diff_range = Range::from_zero(&diffs);
    let diff_line = line(&diffs, DIFFICULTY, diff_range);
    let first = intervals.first().map_or(0, |i| i.height);
    let last = intervals.last().map_or(0, |i| i.height);

    html! {
        <div class="explorer-chart" data-testid="chart">
            <svg viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img"
                aria-label={format!("Seconds between blocks and difficulty, heights {first} to {last}")}>
                { panel_frame(TIMES, "Time between blocks", &secs_label(time_range.hi), &secs_label(time_range.lo)) }
                if let Some(target) = target.filter(|t| *t <= time_range.hi) {
                    <line class="target" x1={TIMES.x.to_string()} x2={TIMES.right().to_string()}
                        y1={TIMES.y_of(target, time_range).to_string()} y2={TIMES.y_of(target, time_range).to_string()} />
                    <text class="label target" x={TIMES.right().to_string()} y={(TIMES.y - 10.0).to_string()}
                        text-anchor="end">{ format!("- - target: {}", duration(target as u64)) }</text>
                }
                { for time_bars.iter().zip(&intervals).map(|(r, i)| html! {
                    <rect class={bar_class(i.secs, time_range)} x={format!("{:.1}", r.x)} y={format!("{:.1}", r.y)}
                        width={format!("{:.1}", r.width)} height={format!("{:.1}", r.height.max(0.5))}>
                        <title>{ format!("block {}: {} s after its parent", i.height, i.secs) }</title>
                    </rect>
                }) }
                { panel_frame(DIFFICULTY, "Difficulty", &fmt_difficulty(diff_range.hi), "0") }
                if diffs.is_empty() {
                    <text class="label" x={(DIFFICULTY.x + 8.0).to_string()} y={(DIFFICULTY.y + 40.0).to_string()}>
                        { "waiting for the node's network" }
                    </text>
                } else {
                    <polyline class="line" points={points_attr(&diff_line)} />
                    { for diff_line.iter().zip(&by_height).map(|(p, (h, d))| html! {
                        <circle class="dot" cx={format!("{:.1}", p.x)} cy={format!("{:.1}", p.y)} r="2">
                            <title>{ format!("block {h}: difficulty {}", fmt_difficulty(*d)) }</title>
                        </circle>
                    }) }
                }
                <text class="label" x={TIMES.x.to_string()} y={(HEIGHT - 6.0).to_string()}>{ format!("height {first}") }</text>
                <text class="label" x={TIMES.right().to_string()} y={(HEIGHT - 6.0).to_string()} text-anchor="end">
                    { format!("height {last}") }
                </text>
            </svg>
        </div>
    }
}

/// An axis label in seconds: `0 s`, `30 s`, `2 min`, `-5 s`.
fn secs_label(v: f64) -> String {
    let whole = v.abs().round() as u64;
    if v < 0.0 {
        format!("-{}", duration(whole))
    } else {
        duration(whole)
    }
}

fn bar_class(secs: i64, range: Range) -> &'static str {
    if secs < 0 {
        "bar negative"
    } else if range.clips(secs as f64) {
        "bar clipped"
    } else {
        "bar"
    }
}

/// A panel's title, axes and top and bottom labels.
fn panel_frame(area: Area, title: &str, top: &str, bottom: &str) -> Html {
    html! {
        <>
            <text class="title" x={area.x.to_string()} y={(area.y - 10.0).to_string()}>{ title }</text>
            <line class="axis" x1={area.x.to_string()} x2={area.x.to_string()} y1={area.y.to_string()} y2={area.bottom().to_string()} />
            <line class="axis" x1={area.x.to_string()} x2={area.right().to_string()} y1={area.bottom().to_string()} y2={area.bottom().to_string()} />
            <line class="gridline" x1={area.x.to_string()} x2={area.right().to_string()} y1={area.y.to_string()} y2={area.y.to_string()} />
            <text class="label" x={(area.x - 6.0).to_string()} y={(area.y + 4.0).to_string()} text-anchor="end">{ top }</text>
            <text class="label" x={(area.x - 6.0).to_string()} y={(area.bottom() + 4.0).to_string()} text-anchor="end">{ bottom }</text>
        </>
    }
}
