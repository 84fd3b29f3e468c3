//! Prometheus metrics (`GET /metrics`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The node's counters and gauges. Cheap to update from any thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub height: Gauge,
    pub peers: Gauge,
    pub mempool_transactions: Gauge,
    pub mempool_bytes: Gauge,
    pub mempool_memory_bytes: Gauge,
    /// The fee rate (units per byte) a transaction must pay to enter the mempool now.
    pub mempool_min_fee_rate: Gauge,
    pub blocks_accepted: Counter,
    pub blocks_rejected: Counter,
    pub transactions_accepted: Counter,
    pub transactions_rejected: Counter,
    pub reorganizations: Counter,
    /// Bytes of stored blocks off the active chain (at most `chain::MAX_SIDE_BYTES`).
    pub side_chain_bytes: Gauge,
    /// Bytes of peer-to-peer messages read from peers (message payloads, without WebSocket framing).
    pub p2p_bytes_received: Counter,
    /// Bytes of messages waiting in peers' outbound queues (each at most `OUTBOUND_BYTES`).
    pub p2p_queued_bytes: Gauge,
    /// Bytes of synced blocks held until the blocks before them arrive (at most
    /// `download::MAX_BUFFERED_BYTES`).
    pub p2p_sync_buffered_bytes: Gauge,
    pub hash_rate: Gauge<f64, AtomicU64>,
    /// Penalties given to peers, by offence.
    penalties: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Peer connections ended, by reason.
    disconnects: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl Metrics {
    /// Counts a penalty given for `offence` (a fixed label, never input from a peer).
    pub fn penalty(&self, offence: &'static str) {
        self.penalties.get_or_create(&vec![("offence", offence)]).inc();
    }

    /// Counts a peer connection that ended for `reason` (a fixed label).
    pub fn disconnect(&self, reason: &'static str) {
        self.disconnects.get_or_create(&vec![("reason", reason)]).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ferro");
        let m = Metrics {
            height: Gauge::default(),
            peers: Gauge::default(),
            mempool_transactions: Gauge::default(),
            mempool_bytes: Gauge::default(),
            mempool_memory_bytes: Gauge::default(),
            mempool_min_fee_rate: Gauge::default(),
            blocks_accepted: Counter::default(),
            blocks_rejected: Counter::default(),
            transactions_accepted: Counter::default(),
            transactions_rejected: Counter::default(),
            reorganizations: Counter::default(),
            side_chain_bytes: Gauge::default(),
            p2p_bytes_received: Counter::default(),
            p2p_queued_bytes: Gauge::default(),
            p2p_sync_buffered_bytes: Gauge::default(),
            hash_rate: Gauge::default(),
            penalties: Family::default(),
            disconnects: Family::default(),
            registry: Registry::default(),
        };
        registry.register("height", "Height of the active chain's tip", m.height.clone());
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "mempool_transactions",
            "Transactions in the mempool",
            m.mempool_transactions.clone(),
        );
        registry.register("mempool_bytes", "Encoded size of the mempool", m.mempool_bytes.clone());
        registry.register(
            "mempool_memory_bytes",
            "Memory the mempool takes, estimated (limited by --mempool-mb)",
            m.mempool_memory_bytes.clone(),
        );
        registry.register(
            "mempool_min_fee_rate",
            "Fee rate (units per byte) a transaction must pay to enter the mempool, raised after evictions",
            m.mempool_min_fee_rate.clone(),
        );
        registry.register(
            "blocks_accepted",
            "Blocks stored (active or side chain)",
            m.blocks_accepted.clone(),
        );
        registry.register("blocks_rejected", "Blocks refused as invalid", m.blocks_rejected.clone());
        registry.register(
            "transactions_accepted",
            "Transactions admitted to the mempool",
            m.transactions_accepted.clone(),
        );
        registry.register(
            "transactions_rejected",
            "Transactions refused by the mempool",
            m.transactions_rejected.clone(),
        );
        registry.register(
            "reorganizations",
            "Times the active chain switched branches",
            m.reorganizations.clone(),
        );
        registry.register(
            "side_chain_bytes",
            "Bytes of stored blocks off the active chain, at most 32 MiB",
            m.side_chain_bytes.clone(),
        );
        registry.register(
            "p2p_bytes_received",
            "Bytes of peer-to-peer messages received",
            m.p2p_bytes_received.clone(),
        );
        registry.register(
            "p2p_queued_bytes",
            "Bytes of messages waiting in peers' outbound queues",
            m.p2p_queued_bytes.clone(),
        );
        registry.register(
            "p2p_sync_buffered_bytes",
            "Bytes of synced blocks held until the blocks before them arrive",
            m.p2p_sync_buffered_bytes.clone(),
        );
        registry.register("hash_rate", "Miner hashes per second, last measured", m.hash_rate.clone());
        registry.register("p2p_penalties", "Penalties given to peers, by offence", m.penalties.clone());
        registry.register("p2p_disconnects", "Peer connections ended, by reason", m.disconnects.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.height.set(42);
        m.blocks_accepted.inc();
        m.p2p_bytes_received.inc_by(1234);
        m.penalty("flooding");
        m.penalty("flooding");
        m.disconnect("idle");
        let text = m.render();
        assert!(text.contains(r#"ferro_p2p_penalties_total{offence="flooding"} 2"#), "{text}");
        assert!(text.contains(r#"ferro_p2p_disconnects_total{reason="idle"} 1"#), "{text}");
        assert!(text.contains("ferro_height 42"), "{text}");
        assert!(text.contains("ferro_blocks_accepted_total 1"), "{text}");
        assert!(text.contains("ferro_p2p_bytes_received_total 1234"), "{text}");
        assert!(text.contains("# HELP ferro_peers Connected peers"), "{text}");
    }
}
