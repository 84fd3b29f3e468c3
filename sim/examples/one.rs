fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let mut scenario = ferro_sim::Scenario::new(args[0], args[1] as usize, args[2]);
    scenario.hostile = args.get(3).copied().unwrap_or(0) as usize;
    let report = ferro_sim::run(&scenario);
    println!("{}", report.summary());
    if let Some(f) = report.failure {
        println!("{f}");
    }
}
