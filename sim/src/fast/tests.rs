use super::*;

fn run_named(name: &str) -> Report {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    let s = Scenario::load(path).unwrap();
    let r = run(&s, s.seed, false);
    println!("{}", r.text());
    r
}

#[test]
fn the_border_scenario_runs() {
    run_named("border.toml");
}
#[test]
fn lossy() {
    run_named("lossy-link.toml");
}
#[test]
fn three() {
    run_named("three-gateways.toml");
}
