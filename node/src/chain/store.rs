//! The node's embedded database (redb): blocks, the block index, the active chain, the coin set,
//! undo data, and indexes from txid and address. Every change to the chain happens in one write
//! transaction, so a crash at any moment leaves either the old state or the new one.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | network name, tip hash |
//! | `blocks` | block hash | canonical block bytes (the active chain, and off it at most `MAX_SIDE_BYTES`) |
//! | `block_index` | block hash | header (128) + cumulative work (32) |
//! | `active` | height | block hash of the active chain |
//! | `utxo` | outpoint (36) | coin: output, height, coinbase flag |
//! | `undo` | block hash | coins the block spent, to disconnect it |
//! | `tx_index` | txid | block hash + position, for active-chain transactions |
//! | `address_utxo` | key hash (32) + outpoint (36) | amount |
//! | `address_history` | key hash (32) + height (8, big-endian) + txid (32) | received (8) + sent (8) |

use ferro_shared::api::HistoryEntry;
use ferro_shared::consensus::{Coin, CoinView};
use ferro_shared::encode::{
    decode_seq, encode_seq, from_bytes, to_bytes, Decode, DecodeError, Encode, Reader,
};
use ferro_shared::hash::{BlockHash, PubkeyHash, Txid};
use ferro_shared::pow::Work;
use ferro_shared::tx::OutPoint;
use ferro_shared::{Amount, Block, BlockHeader, Network, Transaction};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");
pub(crate) const INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("block_index");
pub(crate) const ACTIVE: TableDefinition<u64, &[u8]> = TableDefinition::new("active");
pub(crate) const UTXO: TableDefinition<&[u8], &[u8]> = TableDefinition::new("utxo");
pub(crate) const UNDO: TableDefinition<&[u8], &[u8]> = TableDefinition::new("undo");
pub(crate) const TX_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_index");
pub(crate) const ADDR_UTXO: TableDefinition<&[u8], u64> = TableDefinition::new("address_utxo");
pub(crate) const ADDR_HISTORY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("address_history");
pub(crate) const PEERS: TableDefinition<&str, &[u8]> = TableDefinition::new("peers");
/// Banned peers (IP address, or listen URL on loopback) → end of the ban, seconds since the epoch.
pub(crate) const BANS: TableDefinition<&str, u64> = TableDefinition::new("bans");
/// Pending transactions saved at shutdown: position in arrival order → arrival time (u64 LE)
/// followed by the transaction's canonical bytes.
pub(crate) const MEMPOOL: TableDefinition<u64, &[u8]> = TableDefinition::new("mempool");
/// Blocks found invalid that carried the proof of work the chain required, and their
/// descendants: block hash → nothing. Their children are refused at once, across restarts.
pub(crate) const INVALID: TableDefinition<&[u8], &[u8]> = TableDefinition::new("invalid_blocks");

const META_NETWORK: &str = "network";
const META_TIP: &str = "tip";
/// The version of the consensus rules the stored chain was checked under (u32 LE). Absent in
/// stores written under version 1, whose transactions version 2 refuses.
const META_RULES: &str = "rules";
/// The secret of the node's peer-to-peer identity key.
const META_NODE_KEY: &str = "node_key";
/// The rules this build checks blocks under: the protocol version that last changed consensus
/// (version 3 changed only how frames spell hashes).
pub const RULES_VERSION: u32 = 2;

/// A storage failure. The node cannot continue safely past one of these for that operation,
/// but nothing committed is lost.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the data directory belongs to the {found} network, not {expected}")]
    WrongNetwork { expected: Network, found: String },
    #[error(
        "the data directory holds a chain checked under version {found} of the rules, and this \
         node follows version {RULES_VERSION}: start it with another --data-dir"
    )]
    OldRules { found: u32 },
    #[error(
        "the data directory holds a chain from genesis block {found}, and this node's {network} \
         network starts at {expected}: start it with another --data-dir"
    )]
    OtherGenesis { network: Network, expected: BlockHash, found: BlockHash },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<DecodeError> for StoreError {
    fn from(e: DecodeError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// A block's entry in the index: its header and the cumulative work of the chain it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRecord {
    pub header: BlockHeader,
    pub work: Work,
}

impl Encode for IndexRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        out.extend_from_slice(&self.work.to_be_bytes());
    }
}

impl Decode for IndexRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(IndexRecord { header: BlockHeader::decode(r)?, work: Work::from_be_bytes(r.array()?) })
    }
}

/// Undo data of one block: the coins it spent, in the order it spent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Undo(pub Vec<(OutPoint, Coin)>);

struct SpentCoin(OutPoint, Coin);

impl Encode for SpentCoin {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
}

impl Decode for SpentCoin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SpentCoin(OutPoint::decode(r)?, Coin::decode(r)?))
    }
}

impl Encode for Undo {
    fn encode(&self, out: &mut Vec<u8>) {
        let items: Vec<SpentCoin> = self.0.iter().map(|(o, c)| SpentCoin(*o, *c)).collect();
        encode_seq(&items, out);
    }
}

impl Decode for Undo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let items: Vec<SpentCoin> = decode_seq(r, 36 + 49)?;
        Ok(Undo(items.into_iter().map(|SpentCoin(o, c)| (o, c)).collect()))
    }
}

/// Where a confirmed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    pub block: BlockHash,
    pub position: u32,
}

pub(crate) fn outpoint_key(o: &OutPoint) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(o.txid.as_bytes());
    k[32..].copy_from_slice(&o.vout.to_be_bytes());
    k
}

pub(crate) fn address_utxo_key(pkh: &PubkeyHash, o: &OutPoint) -> [u8; 68] {
    let mut k = [0u8; 68];
    k[..32].copy_from_slice(pkh.as_bytes());
    k[32..].copy_from_slice(&outpoint_key(o));
    k
}

pub(crate) fn history_key(pkh: &PubkeyHash, height: u64, txid: &Txid) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..32].copy_from_slice(pkh.as_bytes());
    k[32..40].copy_from_slice(&height.to_be_bytes());
    k[40..].copy_from_slice(txid.as_bytes());
    k
}

fn prefix_end(prefix: &[u8; 32]) -> Option<[u8; 32]> {
    let mut end = *prefix;
    for i in (0..32).rev() {
        if end[i] < 0xff {
            end[i] += 1;
            end[i + 1..].fill(0);
            return Some(end);
        }
    }
    None
}

/// A handle to the database. Cheap to clone; reads take their own snapshot and never wait for
/// writers.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// The page cache a store gets unless told otherwise. redb's own default (1 GiB) lets a node
/// that has just synced keep every page it wrote; a node needs the hot part of the coin set and
/// the recent blocks, far less.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// See [`Store::coin_set_summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoinSetSummary {
    pub coins: u64,
    pub total: Amount,
    pub digest: [u8; 32],
}

impl Store {
    /// Opens (or creates) the database at `path` for `network` with the default page cache
    /// ([`DEFAULT_CACHE_BYTES`]); a fresh one gets the genesis block. Refuses a database of
    /// another network.
    pub fn open(path: &Path, network: Network) -> Result<Store, StoreError> {
        Store::open_with_cache(path, network, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`: the most memory the database keeps
    /// of the file's pages (pages being written are held until their transaction commits).
    pub fn open_with_cache(path: &Path, network: Network, cache_bytes: usize) -> Result<Store, StoreError> {
        let db = redb::Builder::new().set_cache_size(cache_bytes).create(path)?;
        Store::init(db, network)
    }

    /// [`Store::open`] on any redb storage backend (tests use one that fails on demand). The
    /// page cache is kept small, so that reads reach the backend.
    pub fn open_with_backend(
        backend: impl redb::StorageBackend,
        network: Network,
    ) -> Result<Store, StoreError> {
        let db = redb::Builder::new().set_cache_size(0).create_with_backend(backend)?;
        Store::init(db, network)
    }

    fn init(db: Database, network: Network) -> Result<Store, StoreError> {
        let store = Store { db: Arc::new(db) };
        let txn = store.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let existing = meta.get(META_NETWORK)?.map(|v| v.value().to_vec());
            match existing {
                Some(name) if name != network.name().as_bytes() => {
                    return Err(StoreError::WrongNetwork {
                        expected: network,
                        found: String::from_utf8_lossy(&name).into_owned(),
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert(META_NETWORK, network.name().as_bytes())?;
                }
            }
            let rules = meta.get(META_RULES)?.map(|v| v.value().to_vec());
            let fresh = meta.get(META_TIP)?.is_none();
            match rules {
                Some(bytes) if bytes == RULES_VERSION.to_le_bytes() => {}
                None if fresh => {
                    meta.insert(META_RULES, RULES_VERSION.to_le_bytes().as_slice())?;
                }
                // A chain kept under other rules: its blocks and pending transactions would be
                // served to peers that refuse them.
                other => {
                    let found = other
                        .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
                        .map_or(1, u32::from_le_bytes);
                    return Err(StoreError::OldRules { found });
                }
            }
        }
        // Create every table so readers never meet a missing one.
        for def in [BLOCKS, INDEX, UTXO, UNDO, TX_INDEX, ADDR_HISTORY, INVALID] {
            txn.open_table(def)?;
        }
        txn.open_table(ACTIVE)?;
        txn.open_table(ADDR_UTXO)?;
        txn.open_table(PEERS)?;
        txn.open_table(MEMPOOL)?;
        txn.open_table(BANS)?;
        let fresh = txn.open_table(META)?.get(META_TIP)?.is_none();
        if !fresh {
            // A chain of an earlier build of this network, whose genesis block was another.
            let expected = network.genesis_hash();
            let active = txn.open_table(ACTIVE)?;
            let found = active.get(0)?.map(|v| v.value().to_vec());
            match found.as_deref().map(<[u8; 32]>::try_from) {
                Some(Ok(bytes)) if bytes == expected.0 => {}
                Some(Ok(bytes)) => {
                    return Err(StoreError::OtherGenesis { network, expected, found: BlockHash(bytes) })
                }
                _ => return Err(StoreError::Corrupt("the active chain has no genesis block".into())),
            }
        }
        if fresh {
            let genesis = network.genesis_block();
            let hash = genesis.hash();
            let target = ferro_shared::pow::Target::from_compact(genesis.header.bits)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let record = IndexRecord { header: genesis.header, work: target.work() };
            txn.open_table(BLOCKS)?.insert(hash.as_bytes().as_slice(), to_bytes(genesis).as_slice())?;
            txn.open_table(INDEX)?.insert(hash.as_bytes().as_slice(), to_bytes(&record).as_slice())?;
            txn.open_table(ACTIVE)?.insert(0, hash.as_bytes().as_slice())?;
            let mut loc = [0u8; 36];
            loc[..32].copy_from_slice(hash.as_bytes());
            txn.open_table(TX_INDEX)?
                .insert(genesis.transactions[0].txid().as_bytes().as_slice(), loc.as_slice())?;
            txn.open_table(META)?.insert(META_TIP, hash.as_bytes().as_slice())?;
        }
        txn.commit()?;
        Ok(store)
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// Every index record, for loading the in-memory block index.
    pub fn load_index(&self) -> Result<Vec<(BlockHash, IndexRecord)>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(INDEX)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (k, v) = item?;
            let hash = BlockHash(k.value().try_into().map_err(|_| StoreError::Corrupt("index key".into()))?);
            out.push((hash, from_bytes(v.value())?));
        }
        Ok(out)
    }

    /// Every block remembered as invalid ([`INVALID`]).
    pub fn load_invalid(&self) -> Result<Vec<BlockHash>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(INVALID)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (k, _) = item?;
            out.push(BlockHash(
                k.value().try_into().map_err(|_| StoreError::Corrupt("invalid block key".into()))?,
            ));
        }
        Ok(out)
    }

    /// The active chain's hashes by height.
    pub fn load_active(&self) -> Result<Vec<BlockHash>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ACTIVE)?;
        let mut out = Vec::new();
        for (expected, item) in table.iter()?.enumerate() {
            let (k, v) = item?;
            if k.value() != expected as u64 {
                return Err(StoreError::Corrupt(format!("active chain has a gap at height {expected}")));
            }
            out.push(BlockHash(
                v.value().try_into().map_err(|_| StoreError::Corrupt("active value".into()))?,
            ));
        }
        Ok(out)
    }

    pub fn tip(&self) -> Result<BlockHash, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let v = meta.get(META_TIP)?.ok_or_else(|| StoreError::Corrupt("no tip".into()))?;
        Ok(BlockHash(v.value().try_into().map_err(|_| StoreError::Corrupt("tip".into()))?))
    }

    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(BLOCKS)?;
        let v = table.get(hash.as_bytes().as_slice())?;
        v.map(|v| from_bytes(v.value()).map_err(StoreError::from)).transpose()
    }

    /// The raw canonical bytes of a block, as stored.
    pub fn block_bytes(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(BLOCKS)?;
        Ok(table.get(hash.as_bytes().as_slice())?.map(|v| v.value().to_vec()))
    }

    pub fn undo_bytes(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(UNDO)?;
        Ok(table.get(hash.as_bytes().as_slice())?.map(|v| v.value().to_vec()))
    }

    pub fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ACTIVE)?;
        let v = table.get(height)?;
        v.map(|v| v.value().try_into().map(BlockHash).map_err(|_| StoreError::Corrupt("active value".into())))
            .transpose()
    }

    /// The active chain's height.
    pub fn height(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ACTIVE)?;
        let last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
        Ok(last)
    }

    pub fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(TX_INDEX)?;
        let v = table.get(txid.as_bytes().as_slice())?;
        Ok(v.map(|v| {
            let b = v.value();
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&b[..32]);
            TxLocation { block: BlockHash(hash), position: u32::from_be_bytes([b[32], b[33], b[34], b[35]]) }
        }))
    }

    pub fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(UTXO)?;
        let v = table.get(outpoint_key(outpoint).as_slice())?;
        v.map(|v| from_bytes(v.value()).map_err(StoreError::from)).transpose()
    }

    /// A consistent snapshot of the coin set for validation.
    pub fn coin_view(&self) -> Result<CoinSnapshot, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(UTXO)?;
        Ok(CoinSnapshot { table, failure: Mutex::new(None) })
    }

    /// The whole coin set in one figure: how many coins, their total value, and a SHA-256 over
    /// every coin's key and stored bytes in key order. Two nodes with the same coin set give the
    /// same summary, whatever order they learned the blocks in (the simulator compares them).
    pub fn coin_set_summary(&self) -> Result<CoinSetSummary, StoreError> {
        use sha2::{Digest, Sha256};
        let txn = self.read()?;
        let table = txn.open_table(UTXO)?;
        let (mut coins, mut total, mut hasher) = (0u64, 0u64, Sha256::new());
        for item in table.iter()? {
            let (k, v) = item?;
            let coin: Coin = from_bytes(v.value())?;
            coins += 1;
            total = total
                .checked_add(coin.output.amount.units())
                .ok_or_else(|| StoreError::Corrupt("the coin set's total overflows".into()))?;
            hasher.update((k.value().len() as u32).to_le_bytes());
            hasher.update(k.value());
            hasher.update((v.value().len() as u32).to_le_bytes());
            hasher.update(v.value());
        }
        Ok(CoinSetSummary { coins, total: Amount::from_units(total), digest: hasher.finalize().into() })
    }

    /// Confirmed unspent outputs paying to `pkh`.
    pub fn address_utxos(&self, pkh: &PubkeyHash) -> Result<Vec<(OutPoint, Coin)>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(ADDR_UTXO)?;
        let utxo = txn.open_table(UTXO)?;
        let start = pkh.as_bytes().to_vec();
        let range = match prefix_end(pkh.as_bytes()) {
            Some(end) => index.range(start.as_slice()..end.as_slice())?,
            None => index.range(start.as_slice()..)?,
        };
        let mut out = Vec::new();
        for item in range {
            let (k, _) = item?;
            let k = k.value();
            let mut txid = [0u8; 32];
            txid.copy_from_slice(&k[32..64]);
            let outpoint =
                OutPoint { txid: Txid(txid), vout: u32::from_be_bytes([k[64], k[65], k[66], k[67]]) };
            let coin = utxo
                .get(outpoint_key(&outpoint).as_slice())?
                .ok_or_else(|| StoreError::Corrupt(format!("address index names spent output {outpoint}")))?;
            out.push((outpoint, from_bytes(coin.value())?));
        }
        Ok(out)
    }

    /// Confirmed history of `pkh`, newest first, at most `limit` entries.
    pub fn address_history(&self, pkh: &PubkeyHash, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ADDR_HISTORY)?;
        let active = txn.open_table(ACTIVE)?;
        let index = txn.open_table(INDEX)?;
        let start = pkh.as_bytes().to_vec();
        let range = match prefix_end(pkh.as_bytes()) {
            Some(end) => table.range(start.as_slice()..end.as_slice())?,
            None => table.range(start.as_slice()..)?,
        };
        let mut out = Vec::new();
        for item in range.rev().take(limit) {
            let (k, v) = item?;
            let (k, v) = (k.value(), v.value());
            let height = u64::from_be_bytes(k[32..40].try_into().expect("8 bytes"));
            let mut txid = [0u8; 32];
            txid.copy_from_slice(&k[40..72]);
            let time = match active.get(height)? {
                Some(h) => index.get(h.value())?.map(|r| from_bytes::<IndexRecord>(r.value())).transpose()?,
                None => None,
            }
            .map(|r| r.header.time);
            out.push(HistoryEntry {
                txid: Txid(txid),
                height: Some(height),
                time,
                received: Amount::from_units(u64::from_be_bytes(v[..8].try_into().expect("8 bytes"))),
                sent: Amount::from_units(u64::from_be_bytes(v[8..16].try_into().expect("8 bytes"))),
            });
        }
        Ok(out)
    }

    /// Remembered peer addresses with their stored records.
    pub fn peers(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(PEERS)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (k, v) = item?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    pub fn put_peer(&self, url: &str, record: &[u8]) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        txn.open_table(PEERS)?.insert(url, record)?;
        txn.commit()?;
        Ok(())
    }

    pub fn remove_peer(&self, url: &str) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        txn.open_table(PEERS)?.remove(url)?;
        txn.commit()?;
        Ok(())
    }

    /// Bans still running at `now` (seconds since the epoch): key and end. Ended ones are
    /// forgotten.
    pub fn bans(&self, now: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.begin_write()?;
        let mut out = Vec::new();
        {
            let mut table = txn.open_table(BANS)?;
            table.retain(|_, until| until > now)?;
            for item in table.iter()? {
                let (k, v) = item?;
                out.push((k.value().to_string(), v.value()));
            }
        }
        txn.commit()?;
        Ok(out)
    }

    /// Records a ban of `key` until `until` (seconds since the epoch).
    /// The secret of this node's peer-to-peer identity, made (from `fresh`) and kept on first use.
    pub fn node_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        let txn = self.begin_write()?;
        let secret = {
            let mut meta = txn.open_table(META)?;
            let kept = meta.get(META_NODE_KEY)?.map(|v| v.value().to_vec());
            match kept {
                Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| StoreError::Corrupt("the node key is not 32 bytes".into()))?,
                None => {
                    meta.insert(META_NODE_KEY, fresh.as_slice())?;
                    fresh
                }
            }
        };
        txn.commit()?;
        Ok(secret)
    }

    pub fn put_ban(&self, key: &str, until: u64) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        txn.open_table(BANS)?.insert(key, until)?;
        txn.commit()?;
        Ok(())
    }

    /// Replaces the saved pending transactions with `txs` (arrival time, transaction), in
    /// arrival order.
    pub fn save_mempool(&self, txs: &[(u64, &Transaction)]) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(MEMPOOL)?;
            table.retain(|_, _| false)?;
            for (position, (time, tx)) in (0u64..).zip(txs) {
                let mut value = time.to_le_bytes().to_vec();
                tx.encode(&mut value);
                table.insert(position, value.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Takes the saved pending transactions (arrival time, transaction) in arrival order,
    /// leaving none saved, with the number of saved entries that could not be read (skipped:
    /// pending transactions are not worth refusing to start over).
    pub fn take_mempool(&self) -> Result<(Vec<(u64, Transaction)>, usize), StoreError> {
        let txn = self.begin_write()?;
        let mut out = Vec::new();
        let mut unreadable = 0;
        {
            let mut table = txn.open_table(MEMPOOL)?;
            for item in table.iter()? {
                let (_, v) = item?;
                let v = v.value();
                let entry = v.split_first_chunk::<8>().and_then(|(time, tx)| {
                    Some((u64::from_le_bytes(*time), from_bytes::<Transaction>(tx).ok()?))
                });
                match entry {
                    Some(entry) => out.push(entry),
                    None => unreadable += 1,
                }
            }
            table.retain(|_, _| false)?;
        }
        txn.commit()?;
        Ok((out, unreadable))
    }
}

#[cfg(test)]
impl Store {
    /// Replaces the stored bytes of the coin at `outpoint` (which must exist) with `bytes`, as
    /// a corrupting disk would; returns what was there.
    pub(crate) fn replace_coin_bytes(&self, outpoint: &OutPoint, bytes: &[u8]) -> Vec<u8> {
        let txn = self.begin_write().unwrap();
        let old = txn
            .open_table(UTXO)
            .unwrap()
            .insert(outpoint_key(outpoint).as_slice(), bytes)
            .unwrap()
            .expect("the coin exists")
            .value()
            .to_vec();
        txn.commit().unwrap();
        old
    }
}

/// A read snapshot of the coin set. The consensus code asks a [`CoinView`] for a coin and gets
/// `None` for "no such coin"; a look-up that fails also answers `None` but is remembered, and
/// whoever used the view must ask [`CoinSnapshot::check`] before trusting a verdict built on it.
pub struct CoinSnapshot {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    failure: Mutex<Option<StoreError>>,
}

impl CoinSnapshot {
    /// `Err` with the first failed look-up, if any: then every "missing coin" this view answered
    /// may be a coin it could not read, and no verdict built on it holds.
    pub fn check(&self) -> Result<(), StoreError> {
        match self.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The first failure of a coin look-up, kept in `slot` (`None` is answered meanwhile).
pub(crate) fn read_coin(
    got: Result<Option<redb::AccessGuard<'_, &'static [u8]>>, redb::StorageError>,
    slot: &Mutex<Option<StoreError>>,
) -> Option<Coin> {
    let failed = match got {
        Ok(None) => return None,
        Ok(Some(v)) => match from_bytes(v.value()) {
            Ok(coin) => return Some(coin),
            Err(e) => StoreError::from(e),
        },
        Err(e) => StoreError::from(e),
    };
    slot.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(failed);
    None
}

impl std::fmt::Debug for CoinSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CoinSnapshot")
    }
}

impl CoinView for CoinSnapshot {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        read_coin(self.table.get(outpoint_key(outpoint).as_slice()), &self.failure)
    }
}
