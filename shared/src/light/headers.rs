//! The header chain a light client verified itself, and the choice of the most-work one among
//! those nodes serve.

use super::LightError;
use crate::block::BlockHeader;
use crate::consensus::HeaderTail;
use crate::hash::BlockHash;
use crate::params::{Network, Params};
use crate::pow::{Target, Work};

/// Every verified header of the chain with the most work seen, from genesis, with their hashes
/// and the chain's work up to each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeaders {
    network: Network,
    headers: Vec<BlockHeader>,
    hashes: Vec<BlockHash>,
    /// Cumulative work up to and including each header.
    work: Vec<Work>,
}

/// What [`VerifiedHeaders::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Every header was known already.
    Nothing,
    /// The chain grew on its tip, up to `to`.
    Extended { to: u64 },
    /// A branch with more work replaced the headers above `fork` (which stay), up to `to`.
    Reorganized { fork: u64, to: u64 },
    /// A valid branch without more work than the chain's: ignored.
    NotMoreWork,
}

fn work_of(header: &BlockHeader) -> Work {
    Target::from_compact(header.bits).map(|t| t.work()).unwrap_or(Work::ZERO)
}

impl VerifiedHeaders {
    /// The chain of `network`'s genesis header alone.
    pub fn new(network: Network) -> Self {
        let genesis = network.genesis_block().header;
        VerifiedHeaders {
            network,
            headers: vec![genesis],
            hashes: vec![genesis.hash()],
            work: vec![work_of(&genesis)],
        }
    }

    /// Headers kept from an earlier session (genesis first), verified again in full: storage the
    /// wallet does not control is believed no more than a node. The first invalid header and
    /// everything after it are dropped.
    pub fn restore(network: Network, stored: &[BlockHeader], now: u64) -> Self {
        let mut chain = VerifiedHeaders::new(network);
        if stored.first().map(BlockHeader::hash) != Some(chain.hashes[0]) {
            return chain;
        }
        let linked = 1 + stored
            .windows(2)
            .take_while(|w| w[1].prev == w[0].hash() && w[1].height == w[0].height + 1)
            .count();
        if let Err(LightError::InvalidHeader { height, .. }) = chain.apply(&stored[1..linked], now) {
            let valid = usize::try_from(height).unwrap_or(usize::MAX).min(linked);
            let _ = chain.apply(&stored[1..valid], now);
        }
        chain
    }

    pub fn network(&self) -> Network {
        self.network
    }

    fn params(&self) -> &'static Params {
        self.network.params()
    }

    pub fn height(&self) -> u64 {
        self.headers.len() as u64 - 1
    }

    pub fn tip(&self) -> &BlockHeader {
        self.headers.last().expect("genesis at least")
    }

    pub fn tip_hash(&self) -> BlockHash {
        *self.hashes.last().expect("genesis at least")
    }

    /// The chain's total work.
    pub fn work(&self) -> Work {
        *self.work.last().expect("genesis at least")
    }

    pub fn header(&self, height: u64) -> Option<&BlockHeader> {
        self.headers.get(usize::try_from(height).ok()?)
    }

    pub fn hash(&self, height: u64) -> Option<BlockHash> {
        self.hashes.get(usize::try_from(height).ok()?).copied()
    }

    /// Every header, genesis first (what a wallet stores).
    pub fn headers(&self) -> &[BlockHeader] {
        &self.headers
    }

    /// Hashes of the chain for a node to find where its own chain leaves it: the last ten,
    /// then exponentially sparser, then genesis.
    pub fn locator(&self) -> Vec<BlockHash> {
        let mut out = Vec::new();
        let mut height = self.height();
        let mut step = 1;
        loop {
            out.push(self.hashes[height as usize]);
            if height == 0 {
                return out;
            }
            if out.len() >= 10 {
                step *= 2;
            }
            height = height.saturating_sub(step);
        }
    }

    /// Takes `headers` (consecutive, oldest first) from a node. They must connect to a verified
    /// header. On the tip they extend the chain; lower, they form a branch that replaces the
    /// headers above the fork only when it has more work. Every header is checked by the
    /// consensus rules on a clock reading `now`; on the first invalid one the call fails and
    /// nothing changes.
    pub fn apply(&mut self, headers: &[BlockHeader], now: u64) -> Result<Applied, LightError> {
        let Some(first) = headers.first() else { return Ok(Applied::Nothing) };
        // Where they attach: the parent must be a verified header at the height below.
        let parent = first.height.checked_sub(1).ok_or(LightError::Unconnected)?;
        if self.hash(parent) != Some(first.prev) {
            return Err(LightError::Unconnected);
        }
        // Skip headers the chain has already (each one the chain's own, so linked).
        let known = headers.iter().take_while(|h| self.hash(h.height) == Some(h.hash())).count();
        let new = &headers[known..];
        let Some(first_new) = new.first() else { return Ok(Applied::Nothing) };
        let fork = first_new.height.checked_sub(1).ok_or(LightError::Unconnected)?;
        if self.hash(fork).is_none() {
            return Err(LightError::Unlinked(format!(
                "header at height {} does not follow",
                first_new.height
            )));
        }
        let kept = HeaderTail::kept(self.params());
        let start = (fork as usize + 1).saturating_sub(kept);
        let recent = self.headers[start..=fork as usize].to_vec();
        let mut tail = HeaderTail::new(self.params(), recent, self.work[fork as usize])
            .ok_or_else(|| LightError::Unlinked("the stored chain is not linked".into()))?;
        // One header at a time, so the first bad one is the one named.
        let mut work = Vec::with_capacity(new.len());
        for header in new {
            if header.prev != tail.tip() || header.height != tail.height() + 1 {
                return Err(LightError::Unlinked(format!(
                    "header at height {} does not follow the one before it",
                    header.height
                )));
            }
            tail.push(header, now)
                .map_err(|e| LightError::InvalidHeader { height: header.height, reason: e.to_string() })?;
            work.push(tail.work());
        }
        let on_tip = fork == self.height();
        if !on_tip && tail.work() <= self.work() {
            return Ok(Applied::NotMoreWork);
        }
        let keep = fork as usize + 1;
        self.headers.truncate(keep);
        self.hashes.truncate(keep);
        self.work.truncate(keep);
        for (header, work) in new.iter().zip(work) {
            self.headers.push(*header);
            self.hashes.push(header.hash());
            self.work.push(work);
        }
        let to = self.height();
        Ok(if on_tip { Applied::Extended { to } } else { Applied::Reorganized { fork, to } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BLOCK_VERSION;
    use crate::hash::{FilterHash, MerkleRoot};
    use crate::pow::CompactTarget;

    /// Minimal difficulty, so the tests mine in microseconds; the difficulty rules themselves are
    /// `HeaderTail`'s, tested on the test network there.
    const NET: Network = Network::Dev;

    /// Mines `n` headers on `parent`, `spacing` seconds apart, tagged by `tag` so branches differ.
    fn mine(chain: &VerifiedHeaders, parent_height: u64, n: u64, spacing: u64, tag: u8) -> Vec<BlockHeader> {
        let params = NET.params();
        let kept = HeaderTail::kept(params);
        let start = (parent_height as usize + 1).saturating_sub(kept);
        let recent = chain.headers()[start..=parent_height as usize].to_vec();
        let mut tail = HeaderTail::new(params, recent, chain.work[parent_height as usize]).unwrap();
        let mut out = vec![];
        for _ in 0..n {
            let ctx = tail.context(u64::MAX / 2);
            let parent = *tail.tip_header();
            let mut header = BlockHeader {
                version: BLOCK_VERSION,
                height: parent.height + 1,
                prev: tail.tip(),
                merkle_root: MerkleRoot([tag; 32]),
                filter_hash: FilterHash([tag; 32]),
                time: (parent.time + spacing).max(ctx.median_time_past + 1),
                bits: ctx.expected_bits,
                nonce: 0,
            };
            let target = Target::from_compact(header.bits).unwrap();
            while !target.is_met_by(&header.hash()) {
                header.nonce += 1;
            }
            tail.push(&header, u64::MAX / 2).unwrap();
            out.push(header);
        }
        out
    }

    const NOW: u64 = u64::MAX / 2;

    #[test]
    fn headers_extend_and_a_branch_with_more_work_replaces_the_end() {
        let mut chain = VerifiedHeaders::new(NET);
        let main = mine(&chain, 0, 6, 10, 1);
        assert_eq!(chain.apply(&main, NOW), Ok(Applied::Extended { to: 6 }));
        assert_eq!(chain.apply(&main, NOW), Ok(Applied::Nothing), "known headers change nothing");
        assert_eq!(chain.apply(&main[2..4], NOW), Ok(Applied::Nothing));
        // A branch from height 3 as long as the chain: not more work, ignored.
        let short = mine(&chain, 3, 3, 10, 2);
        assert_eq!(chain.apply(&short, NOW), Ok(Applied::NotMoreWork));
        assert_eq!(chain.tip_hash(), main[5].hash());
        // One longer: it wins; the headers up to the fork stay.
        let long = mine(&chain, 3, 4, 10, 3);
        assert_eq!(chain.apply(&long, NOW), Ok(Applied::Reorganized { fork: 3, to: 7 }));
        assert_eq!(chain.hash(3), Some(main[2].hash()));
        assert_eq!(chain.tip_hash(), long[3].hash());
        assert!(chain.work() > VerifiedHeaders::new(NET).work());
    }

    #[test]
    fn bad_headers_are_refused_and_change_nothing() {
        let mut chain = VerifiedHeaders::new(NET);
        let main = mine(&chain, 0, 4, 10, 1);
        chain.apply(&main[..2], NOW).unwrap();
        let before = chain.clone();
        // Bad proof of work.
        let mut bad = main[2..].to_vec();
        bad[0].nonce = bad[0].nonce.wrapping_add(1);
        while Target::from_compact(bad[0].bits).unwrap().is_met_by(&bad[0].hash()) {
            bad[0].nonce += 1;
        }
        assert!(matches!(
            chain.apply(&bad, NOW),
            Err(LightError::Unlinked(_) | LightError::InvalidHeader { .. })
        ));
        assert!(matches!(chain.apply(&bad[..1], NOW), Err(LightError::InvalidHeader { height: 3, .. })));
        // Other bits than the rules require.
        let mut other = main[2];
        other.bits = CompactTarget(0x1f00_ffff);
        assert!(matches!(chain.apply(&[other], NOW), Err(LightError::InvalidHeader { height: 3, .. })));
        // Too far in the future for the clock.
        assert!(matches!(
            chain.apply(&main[2..], main[2].time - 3 * 3600),
            Err(LightError::InvalidHeader { .. })
        ));
        // Not connected; out of order.
        assert_eq!(chain.apply(&main[3..], NOW), Err(LightError::Unconnected));
        assert!(matches!(chain.apply(&[main[2], main[2]], NOW), Err(LightError::Unlinked(_))));
        assert_eq!(chain.apply(&[main[3], main[2]], NOW), Err(LightError::Unconnected));
        assert_eq!(chain, before);
        // Another network's headers do not connect.
        let test = Network::Test.genesis_block().header;
        assert_eq!(chain.apply(&[test], NOW), Err(LightError::Unconnected));
    }

    #[test]
    fn a_restored_chain_is_verified_again_and_cut_at_the_first_bad_header() {
        let mut chain = VerifiedHeaders::new(NET);
        chain.apply(&mine(&chain, 0, 5, 10, 1), NOW).unwrap();
        let stored = chain.headers().to_vec();
        assert_eq!(VerifiedHeaders::restore(NET, &stored, NOW), chain);
        let mut tampered = stored.clone();
        tampered[4].bits = CompactTarget(0x1f00_ffff);
        assert_eq!(VerifiedHeaders::restore(NET, &tampered, NOW).height(), 3, "kept up to the bad header");
        assert_eq!(VerifiedHeaders::restore(Network::Test, &stored, NOW).height(), 0);
    }

    #[test]
    fn the_locator_starts_at_the_tip_and_ends_at_genesis() {
        let mut chain = VerifiedHeaders::new(NET);
        chain.apply(&mine(&chain, 0, 40, 10, 1), NOW).unwrap();
        let locator = chain.locator();
        assert_eq!(locator[0], chain.tip_hash());
        assert_eq!(*locator.last().unwrap(), chain.hash(0).unwrap());
        assert_eq!(locator[9], chain.hash(31).unwrap());
        assert!(locator.len() < 20);
    }
}
