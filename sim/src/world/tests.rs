use super::*;

#[test]
fn a_call_no_patch_joins_goes_nowhere_and_nothing_is_expected() {
    let text = r#"
name = "t"
duration = "5s"
[[sites]]
id = 1
name = "A"
radios = [{ name = "astrid", network = "ASTRID", issi = "02060000109000001", group = "02060000102061001" }]
[[units]]
name = "u"
issi = "02060000101234567"
network = "ASTRID"
group = "02060000102061001"
[[events]]
at = "1s"
talk = "u"
for = "1s"
"#;
    let s = Scenario::parse(text, "t.toml").unwrap();
    let mut w = World::new(&s, 1, false);
    while let Some(t) = w.poll_timeout().filter(|t| *t <= w.end()) {
        w.handle_timeout(t);
        // No gateway: the radio's PEI output goes unanswered.
        while w.poll_output().is_some() {}
    }
    let end = w.end();
    let r = w.finish(end, "test");
    let t = &r.transmissions[0];
    assert_eq!(t.outcome, "talked");
    assert!(t.spoken_frames > 35, "{t:?}");
    assert!(t.paths.is_empty() && t.expected.is_empty());
    assert!(r.clean());
    assert!(
        r.timeline
            .iter()
            .any(|e| e.text.contains("u keys up on ASTRID 2061001"))
    );
}

/// A frame the gateway hands to a radio at the very instant the network takes the channel
/// away was in flight (found by the soak, seed 10): lost on the air, not played off the air.
/// One handed over any later is.
#[test]
fn a_frame_in_flight_when_the_network_cuts_the_radio_is_not_played_off_the_air() {
    let text = r#"
name = "t"
duration = "5s"
[[sites]]
id = 1
name = "A"
radios = [{ name = "c2000", network = "C2000", issi = "02040000109000101", group = "02040000102040551" }]
"#;
    let s = Scenario::parse(text, "t.toml").unwrap();
    let mut w = World::new(&s, 1, false);
    let cut = Instant::from_millis(2_000);
    w.outputs[0].cut_at = Some(cut);
    let frame = [0xaa; FRAME_LEN];
    w.from_gateway_audio(cut, 0, 0, &frame);
    assert_eq!(w.outputs[0].off_air, 0);
    w.from_gateway_audio(Instant::from_millis(2_001), 0, 0, &frame);
    assert_eq!(w.outputs[0].off_air, 1);
}
