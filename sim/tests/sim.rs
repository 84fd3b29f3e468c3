//! The simulator's own guarantees: one seed replays one run bit for bit, and its invariants catch
//! a node that loses transactions in a reorganization.

use ferro_sim::{run, Scenario};

#[test]
fn one_seed_replays_the_same_run() {
    let scenario = Scenario::new(7, 5, 4);
    let first = run(&scenario);
    assert!(first.failure.is_none(), "{}", first.failure.unwrap_or_default());
    assert!(first.height > 5, "a run that mines nothing proves little: {}", first.summary());
    let second = run(&scenario);
    assert_eq!(first.fingerprint, second.fingerprint, "\n{}\n{}", first.summary(), second.summary());
    assert_eq!(first.events, second.events);
    assert_eq!((first.height, first.payments), (second.height, second.payments));
    let other = run(&Scenario::new(8, 5, 4));
    assert_ne!(first.fingerprint, other.fingerprint, "another seed, another run");
    // A busier run: a partition heals with payments pending on both sides, hostile hosts
    // dial in; its replay is the same too.
    let mut busy = Scenario::new(5, 10, 10);
    busy.hostile = 2;
    let (a, b) = (run(&busy), run(&busy));
    assert!(a.failure.is_none(), "{}", a.failure.unwrap_or_default());
    assert_eq!(a.fingerprint, b.fingerprint, "\n{}\n{}", a.summary(), b.summary());
}

#[test]
fn a_node_that_forgets_reorganized_transactions_is_caught_with_its_seed() {
    // Seeds are tried in order; the defect shows wherever a partition leaves a confirmed payment
    // on the losing side.
    for seed in 1..=8 {
        let mut scenario = Scenario::new(seed, 6, 8);
        scenario.crashes = false;
        scenario.faults.forget_disconnected_transactions = true;
        let report = run(&scenario);
        let Some(failure) = report.failure else { continue };
        println!("{failure}");
        assert!(
            failure.contains("was confirmed, and now is neither in the chain nor in any pool")
                || failure.contains("that it built itself"),
            "{failure}"
        );
        assert!(failure.contains(&format!("seed: {seed}")), "{failure}");
        assert!(
            failure.contains(&format!(
                "replay: cargo xtask sim --seed {seed} --nodes 6 --minutes 8 --no-crashes \
                 --fault forget-disconnected-transactions"
            )),
            "{failure}"
        );
        assert!(failure.contains("timeline"), "{failure}");
        // The same seed without the defect keeps every invariant.
        scenario.faults.forget_disconnected_transactions = false;
        let healthy = run(&scenario);
        assert!(healthy.failure.is_none(), "{}", healthy.failure.unwrap_or_default());
        return;
    }
    panic!("no seed of 1..=8 caught a node that forgets reorganized transactions");
}

#[test]
fn hostile_hosts_are_penalized_and_the_honest_nodes_still_agree() {
    let mut scenario = Scenario::new(3, 6, 5);
    scenario.hostile = 4;
    let report = run(&scenario);
    assert!(report.failure.is_none(), "{}", report.failure.unwrap_or_default());
    assert!(report.hostile_connections > 0 && report.hostile_penalties > 0, "{}", report.summary());
}
