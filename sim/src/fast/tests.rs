use super::*;

#[test]
fn a_killed_one_box_gateway_is_released_by_its_board_and_relays_again_after_restart() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("kill-mid-transmission.toml");
    let s = Scenario::load(path).unwrap();
    let r = run(&s, s.seed, false);
    assert!(r.stuck_ptt.is_empty(), "{}", r.text());
    let kill = &r.kills[0];
    assert_eq!(kill.keyed_ports, [1], "the C2000 radio was relaying");
    assert!(
        kill.released_after_us.is_some_and(|us| us <= 500_000),
        "{kill:?}"
    );
    let after = &r.transmissions[1];
    assert!(after.delivered_in_order(0.0), "{}", r.text());
    assert_eq!(after.paths[0].radios, ["Baarle/astrid"]);
}
