//! What a run simulates, and what it reports.

use ferro_node::node::Faults;

/// A scenario: the network, the chaos, and how long.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub nodes: usize,
    /// Simulated minutes of payments, partitions and crashes before the network is left to
    /// settle (mining goes on).
    pub minutes: u64,
    /// Nodes that mine (the first ones); the network's hash rate is split among them.
    pub miners: usize,
    /// Hashes per simulated second of the whole network. The test network's easiest target
    /// takes 65,536 hashes per block on average: at 8,000 the difficulty climbs above it and
    /// retargets keep the 10-second interval.
    pub network_hash_rate: u64,
    /// Peers each node is told to dial at start (it finds more by gossip).
    pub initial_peers: usize,
    pub partitions: bool,
    pub crashes: bool,
    /// Largest clock error of a node, either way, in seconds (the rules allow blocks two hours
    /// ahead of a node's clock).
    pub max_skew_secs: u64,
    /// Mean simulated seconds between payments.
    pub payment_every_secs: u64,
    /// Longest a network may take to agree on one tip once every partition is healed and
    /// every crashed node restarted.
    pub settle_limit_secs: u64,
    /// Hostile hosts, each of one kind of [`crate::hostile::Kind`] in turn.
    pub hostile: usize,
    pub faults: Faults,
}

impl Scenario {
    /// The default scenario for `nodes` nodes over `minutes` minutes with `seed`.
    pub fn new(seed: u64, nodes: usize, minutes: u64) -> Self {
        Scenario {
            seed,
            nodes,
            minutes,
            miners: nodes.div_ceil(3).clamp(1, 12),
            network_hash_rate: 8_000,
            initial_peers: 4,
            partitions: true,
            crashes: true,
            max_skew_secs: 120,
            payment_every_secs: 15,
            settle_limit_secs: 300,
            hostile: 0,
            faults: Faults::default(),
        }
    }

    /// The command that replays this scenario.
    pub fn replay_command(&self) -> String {
        let mut cmd =
            format!("cargo xtask sim --seed {} --nodes {} --minutes {}", self.seed, self.nodes, self.minutes);
        if !self.partitions {
            cmd.push_str(" --no-partitions");
        }
        if !self.crashes {
            cmd.push_str(" --no-crashes");
        }
        if self.hostile > 0 {
            cmd.push_str(&format!(" --hostile {}", self.hostile));
        }
        if self.faults.forget_disconnected_transactions {
            cmd.push_str(" --fault forget-disconnected-transactions");
        }
        cmd
    }
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub nodes: usize,
    /// Simulated seconds, settling included.
    pub simulated_secs: f64,
    pub wall_secs: f64,
    /// The hash of the event log: one seed, one fingerprint.
    pub fingerprint: String,
    pub events: usize,
    pub height: u64,
    pub blocks_mined: u64,
    pub reorganizations: u64,
    pub payments: usize,
    pub payments_confirmed: usize,
    /// Confirmed payments a reorganization later took out of every node's chain.
    pub payments_reorganized: usize,
    pub partitions: u64,
    pub crashes: u64,
    /// Connections hostile hosts completed, and penalties honest nodes gave them.
    pub hostile_connections: u64,
    pub hostile_penalties: u64,
    /// Simulated seconds from the last heal (or restart) to one tip everywhere.
    pub settle_secs: f64,
    /// The broken invariant, with the seed, the replay command and the timeline before it.
    pub failure: Option<String>,
}

impl Report {
    /// Simulated node-seconds per wall-clock second.
    pub fn speed(&self) -> f64 {
        self.simulated_secs * self.nodes as f64 / self.wall_secs.max(1e-9)
    }

    pub fn summary(&self) -> String {
        format!(
            "seed {:>4}: {} nodes, {:.0} s simulated in {:.1} s ({:.0} node-s/s), height {}, {} mined, {} reorgs, \
             {}/{} payments confirmed ({} reorganized), {} partitions, {} crashes, {} hostile connections ({} penalties), \
             settled in {:.1} s, log {} ({} events)",
            self.seed,
            self.nodes,
            self.simulated_secs,
            self.wall_secs,
            self.speed(),
            self.height,
            self.blocks_mined,
            self.reorganizations,
            self.payments_confirmed,
            self.payments,
            self.payments_reorganized,
            self.partitions,
            self.crashes,
            self.hostile_connections,
            self.hostile_penalties,
            self.settle_secs,
            &self.fingerprint[..16],
            self.events
        )
    }
}
