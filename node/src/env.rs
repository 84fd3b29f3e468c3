//! What a node takes from the world outside its inputs: the wall clock, randomness, and where
//! long work runs. A real node reads the system clock, the operating system's randomness and runs
//! long work on tokio's blocking pool. The deterministic simulator (`sim/`) gives each node a
//! simulated clock (with its own skew), a seeded random stream, and runs long work inline on its
//! single thread, so one seed replays one run exactly.
//!
//! Monotonic time is `tokio::time::Instant` throughout the node, which a paused runtime (the
//! simulator's) controls; only the wall clock needs injecting.

use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as a node sees them.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<dyn Fn() -> u64 + Send + Sync>>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Clock(given)" } else { "Clock(system)" })
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Clock(Some(Arc::new(now)))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_now(&self) -> u64 {
        match &self.0 {
            Some(now) => now(),
            None => system_unix_now(),
        }
    }
}

/// The system clock's seconds since the Unix epoch (0 before it).
pub fn system_unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Where a node's random bytes come from: the operating system, or a seeded stream.
#[derive(Clone, Default)]
pub struct Entropy(Option<Arc<Mutex<Stream>>>);

impl std::fmt::Debug for Entropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Entropy(seeded)" } else { "Entropy(os)" })
    }
}

/// SHA-256 in counter mode over a seed: reproducible bytes, for simulations only.
struct Stream {
    seed: [u8; 32],
    counter: u64,
}

impl Entropy {
    /// The operating system's randomness.
    pub fn os() -> Self {
        Entropy(None)
    }

    /// A reproducible stream from `seed`. Not for keys anyone relies on.
    pub fn seeded(seed: [u8; 32]) -> Self {
        Entropy(Some(Arc::new(Mutex::new(Stream { seed, counter: 0 }))))
    }

    /// Fills `out` with random bytes.
    pub fn fill(&self, out: &mut [u8]) {
        let Some(stream) = &self.0 else {
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, out);
            return;
        };
        let mut stream = stream.lock().unwrap_or_else(|p| p.into_inner());
        for chunk in out.chunks_mut(32) {
            let block =
                Sha256::new().chain_update(stream.seed).chain_update(stream.counter.to_le_bytes()).finalize();
            stream.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    /// 32 random bytes.
    pub fn bytes32(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.fill(&mut out);
        out
    }
}

thread_local! {
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// From now on, [`blocking`] work started on this thread runs inline. The simulator calls it on
/// its thread: its hosts share that one thread, and work on another thread would finish at a
/// moment no seed decides.
pub fn run_blocking_inline_on_this_thread() {
    INLINE.with(|inline| inline.set(true));
}

/// Long or lock-taking work that must not run on an async worker: tokio's blocking pool, or
/// inline under the simulator. `Err` when the work panicked (or the runtime is shutting down).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    if INLINE.with(Cell::get) {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_stream_repeats_and_seeds_differ() {
        let (a, b, c) = (Entropy::seeded([1; 32]), Entropy::seeded([1; 32]), Entropy::seeded([2; 32]));
        let mut x = [0u8; 70];
        let mut y = [0u8; 70];
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(a.bytes32(), c.bytes32());
        assert_ne!(a.bytes32(), a.bytes32(), "the stream moves on");
    }

    #[test]
    fn a_given_clock_is_read() {
        assert_eq!(Clock::from_fn(|| 42).unix_now(), 42);
        assert!(Clock::system().unix_now() > 1_700_000_000);
    }
}
