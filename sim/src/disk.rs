//! A node's disk in the simulator: redb's file kept in memory, where a crash loses every write
//! since the last `sync_data`, as a power cut loses what the operating system had not flushed.
//!
//! Each opening of the database gets a handle of the disk's current generation. A crash rolls
//! the bytes back to the last synced state and starts a new generation; the crashed database's
//! handle then fails every call, so nothing it does while it is dropped reaches the disk.

use std::io;
use std::sync::{Arc, Mutex};

/// A disk that survives its host's crashes. Cheap to clone: clones share the bytes.
#[derive(Debug, Clone, Default)]
pub struct Disk(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    bytes: Vec<u8>,
    /// How to return to the last synced state: the old contents of each range written since,
    /// and the old length, newest last.
    undo: Vec<Undo>,
    generation: u64,
    syncs: u64,
}

#[derive(Debug)]
enum Undo {
    Bytes { offset: usize, old: Vec<u8> },
    Len(usize),
}

impl Disk {
    pub fn new() -> Self {
        Disk::default()
    }

    /// A storage backend for one opening of the database.
    pub fn backend(&self) -> Backend {
        let generation = self.lock().generation;
        Backend { disk: self.clone(), generation }
    }

    /// Loses every write since the last sync; the open database's backend stops working.
    /// Returns how many bytes written since the last sync were lost.
    pub fn crash(&self) -> usize {
        let mut state = self.lock();
        let mut lost = 0;
        while let Some(undo) = state.undo.pop() {
            match undo {
                Undo::Bytes { offset, old } => {
                    lost += old.len();
                    state.bytes[offset..offset + old.len()].copy_from_slice(&old);
                }
                Undo::Len(len) => {
                    lost += state.bytes.len().abs_diff(len);
                    state.bytes.resize(len, 0);
                }
            }
        }
        state.generation += 1;
        lost
    }

    /// Bytes on the disk.
    pub fn len(&self) -> usize {
        self.lock().bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times the database asked for its writes to be made durable.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One opening's view of a [`Disk`].
#[derive(Debug)]
pub struct Backend {
    disk: Disk,
    generation: u64,
}

impl Backend {
    fn state(&self) -> io::Result<std::sync::MutexGuard<'_, State>> {
        let state = self.disk.lock();
        if state.generation != self.generation {
            return Err(io::Error::other("the host crashed"));
        }
        Ok(state)
    }
}

fn range(offset: u64, len: usize, size: usize) -> io::Result<std::ops::Range<usize>> {
    let start = usize::try_from(offset).map_err(|_| io::Error::other("offset out of range"))?;
    let end = start.checked_add(len).filter(|end| *end <= size);
    end.map(|end| start..end).ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "past the end"))
}

impl redb::StorageBackend for Backend {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.state()?.bytes.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let state = self.state()?;
        let range = range(offset, out.len(), state.bytes.len())?;
        out.copy_from_slice(&state.bytes[range]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut state = self.state()?;
        let len = usize::try_from(len).map_err(|_| io::Error::other("too long"))?;
        let old_len = state.bytes.len();
        if len < old_len {
            let old = state.bytes[len..].to_vec();
            state.undo.push(Undo::Bytes { offset: len, old });
        }
        state.undo.push(Undo::Len(old_len));
        state.bytes.resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut state = self.state()?;
        state.undo.clear();
        state.syncs += 1;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut state = self.state()?;
        let range = range(offset, data.len(), state.bytes.len())?;
        let old = state.bytes[range.clone()].to_vec();
        state.undo.push(Undo::Bytes { offset: range.start, old });
        state.bytes[range].copy_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, StorageBackend};

    #[test]
    fn a_crash_keeps_what_was_synced_and_loses_the_rest() {
        let disk = Disk::new();
        let b = disk.backend();
        b.set_len(8).unwrap();
        b.write(0, b"synced!!").unwrap();
        b.sync_data().unwrap();
        b.write(0, b"lost").unwrap();
        b.set_len(16).unwrap();
        b.write(8, b"lost too").unwrap();
        b.set_len(6).unwrap();
        assert!(disk.crash() > 0, "the unsynced writes are counted as lost");
        assert!(b.len().is_err(), "the crashed opening no longer reaches the disk");
        assert!(b.write(0, b"x").is_err());
        let after = disk.backend();
        let mut out = [0u8; 8];
        after.read(0, &mut out).unwrap();
        assert_eq!(&out, b"synced!!");
        assert_eq!(after.len().unwrap(), 8);
    }

    #[test]
    fn reads_and_writes_past_the_end_are_errors() {
        let disk = Disk::new();
        let b = disk.backend();
        b.set_len(4).unwrap();
        assert!(b.write(2, b"abc").is_err());
        assert!(b.read(1, &mut [0u8; 4]).is_err());
        assert!(b.read(u64::MAX, &mut [0u8; 1]).is_err());
    }

    #[test]
    fn a_database_survives_a_crash_with_its_committed_data() {
        let disk = Disk::new();
        let table: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("t");
        {
            let db = redb::Database::builder().create_with_backend(disk.backend()).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(table).unwrap().insert(1, 10).unwrap();
            txn.commit().unwrap();
            let mut txn = db.begin_write().unwrap();
            txn.set_durability(redb::Durability::None).unwrap();
            txn.open_table(table).unwrap().insert(2, 20).unwrap();
            txn.commit().unwrap();
            disk.crash();
        }
        let db = redb::Database::builder().create_with_backend(disk.backend()).unwrap();
        let txn = db.begin_read().unwrap();
        let t = txn.open_table(table).unwrap();
        assert_eq!(t.get(1).unwrap().map(|v| v.value()), Some(10));
        assert_eq!(t.get(2).unwrap().map(|v| v.value()), None, "a write that was not durable is lost");
    }
}
