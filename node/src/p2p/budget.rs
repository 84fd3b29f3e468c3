//! What a peer may make this node do for it, per second: a token bucket counted in bytes of
//! work (bytes of answers sent, bytes of blocks read to build filters, and [`LOOKUP_BYTES`] for
//! each item its messages make the node look up, found or not). A peer over budget
//! waits before its next request is served, so a request flooder gets at most the rate, and an
//! honest peer syncing from this node gets it all.

use std::time::Duration;
use tokio::time::Instant;

/// Bytes of work per second a peer is served at most.
pub const SERVE_BYTES_PER_SEC: f64 = 16.0 * 1024.0 * 1024.0;
/// Bytes of work a peer may use at once, after a quiet spell.
pub const SERVE_BURST_BYTES: f64 = 32.0 * 1024.0 * 1024.0;
/// What one look-up a peer's message makes the node do (a block, transaction or header by its
/// hash, a locator entry) counts for: about what a store read costs next to sending a byte. An
/// answer that finds nothing is short, but the look-ups behind it were not free.
pub const LOOKUP_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct Budget {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Budget {
    pub fn new(now: Instant) -> Self {
        Budget::with(SERVE_BYTES_PER_SEC, SERVE_BURST_BYTES, now)
    }

    pub fn with(rate: f64, burst: f64, now: Instant) -> Self {
        Budget { rate, burst, tokens: burst, last: now }
    }

    /// Charges `bytes` of work done at `now`; returns how long to wait before serving the peer
    /// again (zero while it is within its budget).
    pub fn charge(&mut self, bytes: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_within_its_budget_never_waits_and_one_beyond_waits_for_the_excess() {
        let t0 = Instant::now();
        let mut b = Budget::with(1000.0, 2000.0, t0);
        // The burst is free.
        assert_eq!(b.charge(1500, t0), Duration::ZERO);
        assert_eq!(b.charge(500, t0), Duration::ZERO);
        // Past it: the excess at the rate.
        assert_eq!(b.charge(500, t0), Duration::from_millis(500));
        // Time refills it, up to the burst and no more.
        let later = t0 + Duration::from_secs(100);
        assert_eq!(b.charge(2000, later), Duration::ZERO);
        assert_eq!(b.charge(1000, later), Duration::from_secs(1));
        // At the rate, steadily: no wait.
        let mut b = Budget::with(1000.0, 1000.0, t0);
        for i in 1..=100 {
            assert_eq!(b.charge(100, t0 + Duration::from_millis(100 * i)), Duration::ZERO, "{i}");
        }
    }
}
