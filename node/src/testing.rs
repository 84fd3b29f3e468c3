//! Test support: a storage backend that fails on demand.

use redb::backends::InMemoryBackend;
use redb::StorageBackend;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// An in-memory redb backend whose reads, or writes after a countdown, fail while switched on.
/// Clones share the same bytes and switches, so a store can be reopened on what a failed one
/// left behind (as after a crash and restart).
#[derive(Debug, Clone, Default)]
pub(crate) struct FailingBackend {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    bytes: InMemoryBackend,
    fail_reads: AtomicBool,
    /// Writes (and resizes, and syncs) still allowed before they fail; negative: no limit.
    writes_left: AtomicI64,
}

impl FailingBackend {
    pub fn new() -> Self {
        let backend = FailingBackend::default();
        backend.shared.writes_left.store(-1, Ordering::SeqCst);
        backend
    }

    /// Every read fails from now on (`true`) or none does.
    pub fn fail_reads(&self, on: bool) {
        self.shared.fail_reads.store(on, Ordering::SeqCst);
    }

    /// The next `allowed` writes succeed, every one after fails.
    pub fn fail_writes_after(&self, allowed: i64) {
        self.shared.writes_left.store(allowed, Ordering::SeqCst);
    }

    /// No failures any more.
    pub fn heal(&self) {
        self.fail_reads(false);
        self.shared.writes_left.store(-1, Ordering::SeqCst);
    }

    fn write_allowed(&self) -> io::Result<()> {
        let left = &self.shared.writes_left;
        let allowed =
            left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n > 0).then(|| n - 1)).is_ok()
                || left.load(Ordering::SeqCst) < 0;
        if allowed {
            Ok(())
        } else {
            Err(io::Error::other("injected write failure"))
        }
    }
}

impl StorageBackend for FailingBackend {
    fn len(&self) -> io::Result<u64> {
        self.shared.bytes.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        if self.shared.fail_reads.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected read failure"));
        }
        self.shared.bytes.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.write_allowed()?;
        self.shared.bytes.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.write_allowed()?;
        self.shared.bytes.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.write_allowed()?;
        self.shared.bytes.write(offset, data)
    }
}
