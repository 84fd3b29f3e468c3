//! The driver: builds the simulated network of a [`Scenario`], runs it step by step, makes the
//! scenario's choices (payments, partitions, crashes and restarts) from its seed, and checks
//! the invariants during the run and once the network has settled.

use crate::check;
use crate::host::{self, Command, Host, Shared, SimClock, NETWORK};
use crate::log::Log;
use crate::rng::Rng;
use crate::scenario::{Report, Scenario};
use ferro_shared::{Amount, SecretKey};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// The simulator's time step: every link's latency is a multiple of it.
pub const TICK: Duration = Duration::from_millis(20);
/// How often the invariants are checked and the nodes' tips logged.
const SAMPLE_MS: u64 = 5_000;
/// Events of the timeline a failure prints.
const TIMELINE: usize = 60;

/// A partition in force: the nodes on one side, and when it heals.
struct Partition {
    side: BTreeSet<usize>,
    heals_at: u64,
}

struct Driver<'a> {
    scenario: &'a Scenario,
    sim: turmoil::Sim<'a>,
    hosts: Vec<Rc<Host>>,
    hostile: Vec<Rc<crate::hostile::Hostile>>,
    hostile_penalties: u64,
    shared: Rc<Shared>,
    rng: Rng,
    partition: Option<Partition>,
    /// Crashed hosts and when each restarts.
    down: BTreeMap<usize, u64>,
    partitions: u64,
    crashes: u64,
    settling_since: Option<u64>,
}

/// Runs `scenario` to the end and reports. Runs on the calling thread, which it marks for
/// inline blocking work (see `ferro_node::env`).
pub fn run(scenario: &Scenario) -> Report {
    ferro_node::env::run_blocking_inline_on_this_thread();
    let wall = std::time::Instant::now();
    let mut driver = Driver::new(scenario);
    let outcome = driver.run();
    if std::env::var_os("FERRO_SIM_LOG").is_some() {
        eprint!("{}", driver.shared.log.borrow().all());
    }
    driver.report(outcome, wall.elapsed().as_secs_f64())
}

impl<'a> Driver<'a> {
    fn new(s: &'a Scenario) -> Self {
        let mut rng = Rng::new(s.seed);
        let params = NETWORK.params();
        let epoch = params.genesis_time + 600;
        let shared = Rc::new(Shared {
            log: RefCell::new(Log::default()),
            clock: SimClock { millis: Arc::new(AtomicU64::new(0)), epoch },
            payments: RefCell::new(BTreeMap::new()),
            violations: RefCell::new(Vec::new()),
            faults: s.faults,
        });
        let total = s.minutes * 60 + s.settle_limit_secs + 120;
        let mut sim = turmoil::Builder::new()
            .simulation_duration(Duration::from_secs(total))
            .tick_duration(TICK)
            .epoch(UNIX_EPOCH + Duration::from_secs(epoch))
            .rng_seed(s.seed)
            .min_message_latency(Duration::from_millis(20))
            .max_message_latency(Duration::from_millis(300))
            .build();
        let miners = s.miners.clamp(1, s.nodes);
        let mut hosts = Vec::with_capacity(s.nodes);
        for index in 0..s.nodes {
            let key = loop {
                if let Ok(key) = SecretKey::from_bytes(&rng.bytes32()) {
                    break key;
                }
            };
            let max = s.max_skew_secs;
            let skew_secs = rng.range(0, 2 * max) as i64 - max as i64;
            let host = Rc::new(Host {
                index,
                name: format!("n{index}"),
                ip: Cell::new(None),
                disk: crate::disk::Disk::new(),
                key,
                skew_secs,
                hash_rate: if index < miners { s.network_hash_rate / miners as u64 } else { 0 },
                peers: RefCell::new(Vec::new()),
                seed: rng.bytes32(),
                starts: Cell::new(0),
                committed: Cell::new(None),
                node: RefCell::new(None),
                p2p: RefCell::new(None),
                mailbox: RefCell::new(VecDeque::new()),
                spent: RefCell::new(BTreeSet::new()),
                shared: shared.clone(),
            });
            let software = host.clone();
            sim.host(host.name.as_str(), move || host::main(software.clone()));
            host.ip.set(Some(sim.lookup(host.name.as_str())));
            hosts.push(host);
        }
        for i in 0..s.nodes {
            let peers =
                rng.pick_others(s.nodes, i, s.initial_peers).into_iter().map(|j| hosts[j].url()).collect();
            *hosts[i].peers.borrow_mut() = peers;
            for j in i + 1..s.nodes {
                let latency = Duration::from_millis(rng.range(1, 15) * TICK.as_millis() as u64);
                sim.set_link_latency(hosts[i].name.as_str(), hosts[j].name.as_str(), latency);
            }
        }
        let mut hostile = Vec::with_capacity(s.hostile);
        for i in 0..s.hostile {
            let kind = crate::hostile::Kind::ALL[i % crate::hostile::Kind::ALL.len()];
            let h = Rc::new(crate::hostile::Hostile {
                name: format!("h{i}"),
                kind,
                seed: rng.next_u64(),
                targets: hosts.clone(),
                connections: Cell::new(0),
                shared: shared.clone(),
            });
            let software = h.clone();
            sim.host(h.name.as_str(), move || crate::hostile::main(software.clone()));
            for honest in &hosts {
                let latency = Duration::from_millis(rng.range(1, 15) * TICK.as_millis() as u64);
                sim.set_link_latency(h.name.as_str(), honest.name.as_str(), latency);
            }
            shared.record(format!("{} is hostile: {}", h.name, kind.label()));
            hostile.push(h);
        }
        shared.record(format!(
            "{} nodes ({miners} mining {} hashes/s in all), skews {:?} s",
            s.nodes,
            s.network_hash_rate,
            hosts.iter().map(|h| h.skew_secs).collect::<Vec<_>>()
        ));
        Driver {
            scenario: s,
            sim,
            hosts,
            hostile,
            hostile_penalties: 0,
            shared,
            rng,
            partition: None,
            down: BTreeMap::new(),
            partitions: 0,
            crashes: 0,
            settling_since: None,
        }
    }

    fn now(&self) -> u64 {
        self.shared.clock.millis()
    }

    /// Steps the simulation until the network settles (`Ok`) or an invariant breaks (`Err`).
    fn run(&mut self) -> Result<(), String> {
        let active_ms = self.scenario.minutes * 60_000;
        let mut next_second = 0u64;
        loop {
            if let Err(e) = self.sim.step() {
                return Err(format!("the simulation stopped: {e}"));
            }
            let now = self.sim.elapsed().as_millis() as u64;
            self.shared.clock.millis.store(now, Ordering::Relaxed);
            while next_second * 1000 <= now {
                if next_second * 1000 < active_ms {
                    self.act(next_second);
                } else if self.settling_since.is_none() {
                    self.settle();
                }
                next_second += 1;
            }
            if now % SAMPLE_MS == 0 {
                self.sample()?;
                if let Some(since) = self.settling_since {
                    let late = now - since > self.scenario.settle_limit_secs * 1000;
                    if check::one_tip(&self.hosts).is_ok() {
                        // Payments a reorganization undid go back to pools and are mined again:
                        // wait for them too, as mining goes on.
                        let waiting = check::unconfirmed_payments(&self.hosts, &self.shared)?;
                        if waiting.is_empty() || late {
                            let secs = (now - since) as f64 / 1000.0;
                            self.shared.record(format!(
                                "settled: one tip everywhere {secs:.1} s after the last heal"
                            ));
                            return check::at_end(&self.hosts, &self.shared);
                        }
                    }
                    if late {
                        let tips = check::one_tip(&self.hosts).err().unwrap_or_default();
                        return Err(format!(
                            "the nodes still disagree {} s after the last heal: {tips}",
                            self.scenario.settle_limit_secs
                        ));
                    }
                }
            }
        }
    }

    /// The scenario's choices for one simulated second of activity.
    fn act(&mut self, second: u64) {
        let s = self.scenario;
        let now = self.now();
        let n = s.nodes;
        if self.rng.chance(1.0 / s.payment_every_secs.max(1) as f64) {
            let from = self.rng.below(s.miners.clamp(1, n));
            let to = self.rng.pick_others(n, from, 1).first().copied().unwrap_or(from);
            let amount = Amount::from_units(self.rng.range(10_000_000, 500_000_000));
            let fee_rate = self.rng.range(1, 5);
            let to_hash = self.hosts[to].pkh();
            self.hosts[from].mailbox.borrow_mut().push_back(Command::Pay { to, to_hash, amount, fee_rate });
        }
        if s.partitions && n >= 2 {
            match &self.partition {
                None if second >= 60 && self.rng.chance(1.0 / 240.0) => {
                    let size = self.rng.range(1.max(n as u64 / 4), 1.max(n as u64 / 2)) as usize;
                    let mut side = BTreeSet::new();
                    while side.len() < size {
                        side.insert(self.rng.below(n));
                    }
                    let heals_at = now + self.rng.range(30, 150) * 1000;
                    self.cut(&side, true);
                    self.shared.record(format!(
                        "partition: {:?} cut off from the rest for {} s",
                        side.iter().map(|i| format!("n{i}")).collect::<Vec<_>>(),
                        (heals_at - now) / 1000
                    ));
                    self.partitions += 1;
                    self.partition = Some(Partition { side, heals_at });
                }
                Some(p) if now >= p.heals_at => self.heal(),
                _ => {}
            }
        }
        if s.crashes {
            let limit = (n / 5).max(1);
            if self.down.len() < limit && self.rng.chance(1.0 / 180.0) {
                let k = self.rng.below(n);
                if !self.down.contains_key(&k) {
                    let restart_at = now + self.rng.range(10, 90) * 1000;
                    self.crash(k);
                    self.down.insert(k, restart_at);
                }
            }
            let due: Vec<usize> = self.down.iter().filter(|(_, at)| **at <= now).map(|(k, _)| *k).collect();
            for k in due {
                self.restart(k);
            }
        }
    }

    /// Cuts (or repairs) every link between `side` and the other nodes.
    fn cut(&mut self, side: &BTreeSet<usize>, cut: bool) {
        for &a in side {
            for b in (0..self.scenario.nodes).filter(|b| !side.contains(b)) {
                let (a, b) = (self.hosts[a].name.as_str(), self.hosts[b].name.as_str());
                if cut {
                    self.sim.partition(a, b);
                } else {
                    self.sim.repair(a, b);
                }
            }
        }
    }

    fn heal(&mut self) {
        if let Some(p) = self.partition.take() {
            self.cut(&p.side, false);
            self.shared.record("partition healed".into());
        }
    }

    fn crash(&mut self, k: usize) {
        let host = self.hosts[k].clone();
        // What the node had committed, which the restarted node must still hold.
        if let Some(node) = &*host.node.borrow() {
            let tip = node.tip();
            host.committed.set(Some((tip.hash, tip.height)));
        }
        // The disk first: nothing the dying node does reaches it.
        host.disk.crash();
        host.node.replace(None);
        host.p2p.replace(None);
        host.mailbox.borrow_mut().clear();
        self.sim.crash(host.name.as_str());
        self.crashes += 1;
        self.shared.record(format!("{} crashed: writes since its last sync are lost", host.name));
    }

    fn restart(&mut self, k: usize) {
        self.down.remove(&k);
        self.sim.bounce(self.hosts[k].name.as_str());
        self.shared.record(format!("{} powered on", self.hosts[k].name));
    }

    /// The end of the chaos: no more payments, partitions or crashes; every partition healed,
    /// every crashed node restarted. Mining goes on, as on a real network, where the next block
    /// breaks a tie between two tips of equal work; from here the nodes must agree on one tip
    /// (checked every second) within the limit.
    fn settle(&mut self) {
        self.heal();
        let down: Vec<usize> = self.down.keys().copied().collect();
        for k in down {
            self.restart(k);
        }
        self.settling_since = Some(self.now());
        self.shared.record("settling: no more payments, every link healed, every node up".into());
    }

    /// The checks made during the run, and the tips for the log.
    fn sample(&mut self) -> Result<(), String> {
        if let Some(violation) = self.shared.violations.borrow().first() {
            return Err(violation.clone());
        }
        check::bounds(&self.hosts)?;
        self.hostile_penalties = self.hostile_penalties.max(check::no_penalties(&self.hosts)?);
        check::track_confirmations(&self.hosts, &self.shared);
        let tips: Vec<String> = self
            .hosts
            .iter()
            .map(|h| match &*h.node.borrow() {
                Some(node) => {
                    let tip = node.tip();
                    format!("{}:{}", tip.height, &host::short(&tip.hash)[..6])
                }
                None => "down".into(),
            })
            .collect();
        self.shared.record(format!("{}{}", crate::log::TIPS, tips.join(" ")));
        Ok(())
    }

    fn report(&self, outcome: Result<(), String>, wall_secs: f64) -> Report {
        let s = self.scenario;
        let now = self.now();
        let failure = outcome.err().map(|reason| {
            let log = self.shared.log.borrow();
            let about = log.mentioning(&reason);
            let about = if about.is_empty() { String::new() } else { format!("  events naming it:\n{about}") };
            format!(
                "simulation failed at {:.1} s (simulated): {reason}\n  seed: {}\n  replay: {}\n{about}  timeline (last {TIMELINE} events):\n{}",
                now as f64 / 1000.0,
                s.seed,
                s.replay_command(),
                log.timeline(TIMELINE)
            )
        });
        let payments = self.shared.payments.borrow();
        let running: Vec<_> = self.hosts.iter().filter_map(|h| h.node.borrow().clone()).collect();
        let log = self.shared.log.borrow();
        Report {
            seed: s.seed,
            nodes: s.nodes,
            simulated_secs: now as f64 / 1000.0,
            wall_secs,
            fingerprint: log.fingerprint(),
            events: log.len(),
            height: running.iter().map(|n| n.tip().height).max().unwrap_or(0),
            blocks_mined: running.iter().map(|n| n.metrics().blocks_accepted.get()).max().unwrap_or(0),
            reorganizations: running.iter().map(|n| n.metrics().reorganizations.get()).sum(),
            payments: payments.len(),
            payments_confirmed: payments.values().filter(|p| p.confirmed).count(),
            payments_reorganized: payments.values().filter(|p| p.reorganized).count(),
            partitions: self.partitions,
            crashes: self.crashes,
            hostile_connections: self.hostile.iter().map(|h| h.connections.get()).sum(),
            hostile_penalties: self.hostile_penalties,
            settle_secs: self.settling_since.map(|t| (now - t) as f64 / 1000.0).unwrap_or(0.0),
            failure,
        }
    }
}
