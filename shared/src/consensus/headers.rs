//! A chain of headers checked one after another without the blocks: linkage, proof of work,
//! the difficulty the rules require (computed here, never taken from the header), median time
//! past, the time-warp bound, the future limit, and the cumulative work.
//!
//! A [`HeaderTail`] holds just enough of the chain's end to check the next header: the last
//! headers (as many as the median-time span or a difficulty epoch needs, whichever is more) and
//! the chain's total work. A node seeds it from its block index; a light client from headers it
//! verified before. Both then feed it headers from a peer or a server they do not trust.

use super::block::{check_header, BlockError, HeaderContext};
use super::chain::{median_time_past, next_bits, retarget_anchor_height};
use crate::block::BlockHeader;
use crate::hash::BlockHash;
use crate::params::Params;
use crate::pow::{Target, Work};
use std::collections::VecDeque;

/// Why a run of headers was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header at `index` does not name the one before it as its parent.
    #[error("header {index} does not follow the one before it")]
    Unlinked { index: usize },
    /// The header at `index` breaks a rule.
    #[error("header {index} is invalid: {error}")]
    Invalid { index: usize, error: BlockError },
}

/// The end of a checked header chain: what the next header is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTail {
    params: &'static Params,
    /// The last headers, oldest first; the last is the tip. At most [`HeaderTail::kept`].
    recent: VecDeque<BlockHeader>,
    tip: BlockHash,
    work: Work,
}

impl HeaderTail {
    /// How many headers of the chain's end the checks of the next header need.
    pub fn kept(params: &Params) -> usize {
        let epoch = params.retarget_interval.map_or(0, |i| usize::try_from(i).unwrap_or(usize::MAX));
        params.median_time_span.max(epoch).max(1)
    }

    /// A tail ending at `recent`'s last header, whose chain has `work` in total. `recent` holds
    /// that header and its ancestors, oldest first, linked: at least [`HeaderTail::kept`] of
    /// them, or all of them back to genesis. Returns `None` for an empty or unlinked `recent`.
    pub fn new(params: &'static Params, recent: Vec<BlockHeader>, work: Work) -> Option<HeaderTail> {
        let last = recent.last()?;
        let tip = last.hash();
        let linked = recent.windows(2).all(|w| w[1].prev == w[0].hash() && w[1].height == w[0].height + 1);
        if !linked {
            return None;
        }
        let skip = recent.len().saturating_sub(Self::kept(params));
        Some(HeaderTail { params, recent: recent.into_iter().skip(skip).collect(), tip, work })
    }

    pub fn tip(&self) -> BlockHash {
        self.tip
    }

    pub fn tip_header(&self) -> &BlockHeader {
        self.recent.back().expect("a tail holds at least its tip")
    }

    pub fn height(&self) -> u64 {
        self.tip_header().height
    }

    /// The total work of the chain that ends here.
    pub fn work(&self) -> Work {
        self.work
    }

    /// What the next header must satisfy, on a clock reading `now` (seconds).
    pub fn context(&self, now: u64) -> HeaderContext {
        let parent = self.tip_header();
        let next_height = parent.height + 1;
        let span = self.params.median_time_span;
        let times: Vec<u64> = self.recent.iter().rev().take(span).map(|h| h.time).collect();
        let anchor_time = retarget_anchor_height(self.params, next_height)
            .and_then(|a| self.recent.iter().find(|h| h.height == a))
            .map(|h| h.time);
        HeaderContext {
            height: next_height,
            expected_bits: next_bits(self.params, next_height, parent.bits, parent.time, anchor_time),
            median_time_past: median_time_past(&times),
            parent_time: parent.time,
            now,
        }
    }

    /// Checks `header` as the next one and moves the tail onto it; returns its hash. On an
    /// error the tail is unchanged.
    pub fn push(&mut self, header: &BlockHeader, now: u64) -> Result<BlockHash, BlockError> {
        check_header(header, &self.context(now), self.params)?;
        let target = Target::from_compact(header.bits).map_err(BlockError::InvalidTarget)?;
        let hash = header.hash();
        self.work = self.work.saturating_add(&target.work());
        self.tip = hash;
        self.recent.push_back(*header);
        if self.recent.len() > Self::kept(self.params) {
            self.recent.pop_front();
        }
        Ok(hash)
    }

    /// Checks `headers` in order on top of this tail; returns their hashes. On an error the
    /// tail is where the last valid header left it, and the error says which header failed.
    pub fn extend(&mut self, headers: &[BlockHeader], now: u64) -> Result<Vec<BlockHash>, HeaderError> {
        let mut hashes = Vec::with_capacity(headers.len());
        for (index, header) in headers.iter().enumerate() {
            if header.prev != self.tip {
                return Err(HeaderError::Unlinked { index });
            }
            match self.push(header, now) {
                Ok(hash) => hashes.push(hash),
                Err(error) => return Err(HeaderError::Invalid { index, error }),
            }
        }
        Ok(hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BLOCK_VERSION;
    use crate::hash::{FilterHash, MerkleRoot};
    use crate::params::Network;
    use crate::pow::CompactTarget;

    /// Mines a header on `tail`'s tip at `time`, with the bits the rules require.
    fn mine(tail: &HeaderTail, time: u64) -> BlockHeader {
        let ctx = tail.context(u64::MAX / 2);
        let mut header = BlockHeader {
            version: BLOCK_VERSION,
            prev: tail.tip(),
            merkle_root: MerkleRoot([7; 32]),
            filter_hash: FilterHash([9; 32]),
            time,
            bits: ctx.expected_bits,
            height: ctx.height,
            nonce: 0,
        };
        remine(&mut header);
        header
    }

    fn remine(header: &mut BlockHeader) {
        let target = Target::from_compact(header.bits).unwrap();
        while !target.is_met_by(&header.hash()) {
            header.nonce += 1;
        }
    }

    fn genesis_tail(network: Network) -> HeaderTail {
        let genesis = network.genesis_block().header;
        let work = Target::from_compact(genesis.bits).unwrap().work();
        HeaderTail::new(network.params(), vec![genesis], work).unwrap()
    }

    /// A chain of `n` headers on genesis, `spacing` seconds apart.
    fn chain(network: Network, n: usize, spacing: u64) -> (HeaderTail, Vec<BlockHeader>) {
        let start = genesis_tail(network);
        let mut tail = start.clone();
        let mut headers = vec![];
        for _ in 0..n {
            let h = mine(&tail, tail.tip_header().time + spacing);
            tail.push(&h, u64::MAX / 2).unwrap();
            headers.push(h);
        }
        (start, headers)
    }

    #[test]
    fn a_valid_run_extends_the_tail_and_adds_its_work() {
        let (mut tail, headers) = chain(Network::Dev, 45, 10);
        let before = tail.work();
        let hashes = tail.extend(&headers, u64::MAX / 2).unwrap();
        assert_eq!(hashes.len(), 45);
        assert_eq!(tail.tip(), headers[44].hash());
        assert_eq!(tail.height(), 45);
        assert!(tail.work() > before);
        assert!(tail.recent.len() <= HeaderTail::kept(Network::Dev.params()));
    }

    #[test]
    fn the_difficulty_is_computed_not_taken_at_a_retarget() {
        // Blocks 5× faster than the target spacing: the test network's epoch of 20 ends at
        // height 20 with a harder target, which a header claiming the old one fails.
        let (mut tail, mut headers) = chain(Network::Test, 21, 2);
        assert_ne!(headers[19].bits, headers[18].bits, "the retarget at height 20 changes the target");
        tail.extend(&headers[..19], u64::MAX / 2).unwrap();
        headers[19].bits = headers[18].bits;
        match tail.extend(&headers[19..20], u64::MAX / 2) {
            Err(HeaderError::Invalid { index: 0, error: BlockError::BadDifficulty { .. }, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(tail.height(), 19, "a refused header leaves the tail where it was");
    }

    #[test]
    fn each_rule_is_checked() {
        let network = Network::Dev;
        let (tail, headers) = chain(network, 3, 10);
        let now = headers[2].time;
        type Mutation = Box<dyn Fn(&mut Vec<BlockHeader>)>;
        type Case = (&'static str, Mutation, fn(&HeaderError) -> bool);
        let cases: Vec<Case> = vec![
            ("unlinked", Box::new(|h| h[1].prev = BlockHash([1; 32])), |e| {
                matches!(e, HeaderError::Unlinked { index: 1 })
            }),
            (
                "bad proof of work",
                Box::new(|h| {
                    let target = Target::from_compact(h[1].bits).unwrap();
                    while target.is_met_by(&h[1].hash()) {
                        h[1].nonce += 1;
                    }
                }),
                |e| {
                    matches!(
                        e,
                        HeaderError::Invalid { index: 1, error: BlockError::InsufficientProofOfWork(_), .. }
                    )
                },
            ),
            ("easier bits", Box::new(|h| h[0].bits = CompactTarget(h[0].bits.0 + 1)), |e| {
                matches!(e, HeaderError::Invalid { index: 0, error: BlockError::BadDifficulty { .. }, .. })
            }),
            (
                "time at the median",
                Box::new(|h| {
                    h[0].time = Network::Dev.genesis_block().header.time;
                    remine(&mut h[0]);
                }),
                |e| matches!(e, HeaderError::Invalid { index: 0, error: BlockError::TimeTooOld { .. }, .. }),
            ),
            ("wrong height", Box::new(|h| h[2].height = 7), |e| {
                matches!(e, HeaderError::Invalid { index: 2, error: BlockError::BadHeight { .. }, .. })
            }),
        ];
        for (name, mutate, expected) in cases {
            let mut bad = headers.clone();
            mutate(&mut bad);
            let err = tail.clone().extend(&bad, now + 100).unwrap_err();
            assert!(expected(&err), "{name}: {err:?}");
        }
        // Too far in the future for this clock.
        let err = tail.clone().extend(&headers, headers[0].time - 10_000).unwrap_err();
        assert!(
            matches!(err, HeaderError::Invalid { index: 0, error: BlockError::TimeTooNew { .. }, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn new_needs_linked_headers() {
        let (_, headers) = chain(Network::Dev, 3, 1);
        assert!(HeaderTail::new(Network::Dev.params(), vec![], Work::ZERO).is_none());
        assert!(HeaderTail::new(Network::Dev.params(), vec![headers[0], headers[2]], Work::ZERO).is_none());
        let tail = HeaderTail::new(Network::Dev.params(), headers.clone(), Work::ZERO).unwrap();
        assert_eq!(tail.tip(), headers[2].hash());
    }
}
