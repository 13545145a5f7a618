use super::*;
use borderlink_protocol::pei::{PeiParser, TxGrant};

fn tsi(mcc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, 1, ssi).unwrap()
}

fn g1() -> Tsi {
    tsi(206, 2_061_001)
}

fn swmi() -> Swmi {
    Swmi::new(NetworkConfig::default(), NetworkConfig::default(), 7)
}

/// Runs the SwMI until `until`, returning its events.
fn run(s: &mut Swmi, until: Instant) -> Vec<(Instant, SwmiEvent)> {
    let mut out = Vec::new();
    let mut now = Instant::ZERO;
    loop {
        while let Some(e) = s.poll_event() {
            out.push((now, e));
        }
        match s.poll_timeout() {
            Some(t) if t <= until => {
                now = t.max(now);
                s.handle_timeout(now);
                while s.poll_audio(now).is_some() {}
            }
            _ => return out,
        }
    }
}

/// The PEI events a gateway radio printed, as the gateway's own parser reads them.
fn pei(s: &mut Swmi, id: TerminalId) -> Vec<String> {
    let bytes = s.radio_mut(id).unwrap().poll_transmit().unwrap_or_default();
    let mut p = PeiParser::<1024>::new();
    let mut input = &bytes[..];
    let mut out = Vec::new();
    loop {
        let (used, e) = p.push(input);
        input = &input[used..];
        match e {
            Some(Ok(e)) => out.push(format!("{e:?}")),
            Some(Err(e)) => panic!("unparsable PEI from the emulator: {e}"),
            None => return out,
        }
    }
}

#[test]
fn a_field_call_is_granted_within_the_grant_delay_and_heard_by_the_gateway() {
    let mut s = swmi();
    let unit = s.add_field_unit("BE-1", tsi(206, 1_234_567), Network::Astrid, g1());
    let mut radio = RadioEmulator::new(tsi(206, 9_000_001));
    radio.handle_bytes(b"ATE0\rAT+CTGS=1,02060000102061001\r");
    let _ = radio.poll_transmit();
    let gw = s.add_gateway_radio("astrid", Network::Astrid, radio);
    s.demand(Instant::ZERO, unit, 3, false);
    let events = run(&mut s, Instant::from_millis(1_000));
    let (at, granted) = events
        .iter()
        .find(|(_, e)| matches!(e, SwmiEvent::Granted { .. }))
        .expect("granted");
    assert_eq!(
        *granted,
        SwmiEvent::Granted {
            terminal: unit,
            group: g1(),
            level: 3
        }
    );
    assert!(
        (150..=400).contains(&at.as_millis()),
        "grant after {} ms",
        at.as_millis()
    );
    let lines = pei(&mut s, gw);
    assert!(lines[0].starts_with("IncomingCall"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("GrantedToAnother") && l.contains("1234567")),
        "{lines:?}"
    );
    let frame = [0x11; FRAME_LEN];
    assert!(s.speak(*at, unit, &frame));
    let heard = s.poll_audio(*at).expect("heard at once (no air delay)");
    assert_eq!((heard.to, heard.from), (gw, unit));
    assert!(!s.speak(*at, gw, &frame), "a listener cannot talk");
}

#[test]
fn the_same_seed_draws_the_same_grant_delays() {
    let delays = |seed| {
        let mut s = Swmi::new(NetworkConfig::default(), NetworkConfig::default(), seed);
        let unit = s.add_field_unit("u", tsi(206, 1), Network::Astrid, g1());
        (0..5)
            .map(|i| {
                let t0 = Instant::from_millis(10_000 * i);
                s.demand(t0, unit, 0, false);
                let t = s.poll_timeout().unwrap();
                s.handle_timeout(t);
                s.cease(t, unit);
                t.saturating_since(t0).as_micros()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(delays(1), delays(1));
    assert_ne!(delays(1), delays(2));
}

#[test]
fn a_second_demand_waits_and_gets_the_channel_when_the_first_stops() {
    let mut s = swmi();
    let a = s.add_field_unit("a", tsi(206, 1), Network::Astrid, g1());
    let b = s.add_field_unit("b", tsi(206, 2), Network::Astrid, g1());
    s.demand(Instant::ZERO, a, 3, false);
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    s.demand(t, b, 5, false);
    let events: Vec<SwmiEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(events.contains(&SwmiEvent::Queued {
        terminal: b,
        group: g1()
    }));
    assert_eq!(
        s.talker(g1()),
        Some(a),
        "no pre-emption without a pre-emptive demand"
    );
    let stop = t + Duration::from_secs(2);
    s.cease(stop, a);
    let t2 = s.poll_timeout().unwrap();
    assert!(t2 > stop);
    s.handle_timeout(t2);
    assert_eq!(s.talker(g1()), Some(b));
}

#[test]
fn a_preemptive_higher_demand_interrupts_the_talker() {
    let mut s = swmi();
    let mut radio = RadioEmulator::new(tsi(206, 9_000_001));
    radio.handle_bytes(
        b"ATE0\rAT+CTGS=1,02060000102061001\rAT+CTSDC=0,0,0,1,1,0,1,1,0,2,0\rATD2061001\r",
    );
    let gw = s.add_gateway_radio("astrid", Network::Astrid, radio);
    s.radio_actions(Instant::ZERO, gw);
    s.radio_bytes(Instant::ZERO, gw, b"AT+CTXD=1,1\r");
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    assert_eq!(s.talker(g1()), Some(gw));
    let _ = pei(&mut s, gw);
    let unit = s.add_field_unit("emergency", tsi(206, 5), Network::Astrid, g1());
    s.demand(t, unit, 15, true);
    assert_eq!(s.talker(g1()), None, "interrupted at once");
    let lines = pei(&mut s, gw);
    assert!(
        lines.iter().any(|l| l.starts_with("TxInterrupted")),
        "{lines:?}"
    );
    let t2 = s.poll_timeout().unwrap();
    s.handle_timeout(t2);
    assert_eq!(s.talker(g1()), Some(unit));
    let lines = pei(&mut s, gw);
    // The emergency over re-sets the call up at priority 15.
    assert!(
        lines.iter().any(|l| l.starts_with("CallReleased")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("IncomingCall") && l.contains("priority: Some(15)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{:?}", TxGrant::GrantedToAnother)))
    );
}

#[test]
fn an_idle_call_is_released_after_its_hang_time_with_timer_expiry() {
    let mut s = swmi();
    let unit = s.add_field_unit("u", tsi(206, 1), Network::Astrid, g1());
    s.demand(Instant::ZERO, unit, 0, false);
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    s.cease(t + Duration::from_secs(1), unit);
    let events = run(&mut s, Instant::from_millis(10_000));
    let (at, released) = events.last().unwrap();
    assert_eq!(
        *released,
        SwmiEvent::Released {
            group: g1(),
            cause: cause::TIMER_EXPIRY
        }
    );
    assert_eq!(
        *at,
        t + Duration::from_secs(1) + NetworkConfig::default().call_hang
    );
}

#[test]
fn sds_to_a_group_reaches_its_gateway_radio_and_not_the_other_network() {
    let mut s = swmi();
    let mut a = RadioEmulator::new(tsi(206, 9_000_001));
    a.handle_bytes(b"ATE0\rAT+CTGS=1,02060000102061001\r");
    let _ = a.poll_transmit();
    let mut c = RadioEmulator::new(tsi(204, 9_000_101));
    c.handle_bytes(b"ATE0\rAT+CTGS=1,02040000102040551\r");
    let _ = c.poll_transmit();
    let a = s.add_gateway_radio("astrid", Network::Astrid, a);
    let c = s.add_gateway_radio("c2000", Network::C2000, c);
    let unit = s.add_field_unit("u", tsi(206, 1), Network::Astrid, g1());
    s.send_sds(unit, g1(), AiService::Status, &[0x80, 0x03], 16);
    let Some(SwmiEvent::SdsDelivered { reached, .. }) = s.poll_event() else {
        panic!("delivered")
    };
    assert_eq!(reached, [a]);
    assert!(pei(&mut s, a)[0].starts_with("SdsReceived"));
    assert!(pei(&mut s, c).is_empty());
}

#[test]
fn a_roaming_unit_talks_on_the_visited_network() {
    let mut s = swmi();
    let unit = s.add_field_unit("BE-1", tsi(206, 1_234_567), Network::Astrid, g1());
    let mirror = tsi(204, 2_040_551);
    s.register(Instant::ZERO, unit, Network::C2000, mirror);
    s.demand(Instant::ZERO, unit, 0, false);
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    assert_eq!(s.talker(mirror), Some(unit));
    assert_eq!(s.talker(g1()), None);
    assert_eq!(s.network(unit), Some(Network::C2000));
}

/// A gateway's tracked reply (SDS-TL text asking for a receipt report) reaches a field unit,
/// which answers with an SDS-REPORT quoting its message reference; an untracked text gets none.
#[test]
fn a_field_unit_reports_receipt_of_a_text_that_asks_for_it() {
    use borderlink_protocol::sds::{
        Bits, DeliveryReportRequest, DeliveryStatus, SdsKind, SdsTlText, TextCoding, TextMessage,
        TlPdu, TransferHeader, UserData, decode,
    };
    let mut s = swmi();
    let unit_tsi = tsi(206, 1_234_567);
    s.add_field_unit("BE-1", unit_tsi, Network::Astrid, g1());
    let mut radio = RadioEmulator::new(tsi(206, 9_000_001));
    radio.handle_bytes(b"ATE0\r");
    let _ = radio.poll_transmit();
    let gw = s.add_gateway_radio("astrid", Network::Astrid, radio);

    let text = |report: DeliveryReportRequest| {
        let message = TextMessage {
            immediate: false,
            sds_tl: Some(SdsTlText {
                header: TransferHeader {
                    delivery_report: report,
                    service_selection: false,
                    message_reference: 42,
                    store_forward: None,
                },
                timestamp: None,
            }),
            coding: TextCoding::LATIN_1,
            text: Bits::from_bytes(b"BL OK").unwrap(),
        };
        let data = UserData::Text(message);
        let mut buf = vec![0u8; data.buffer_len()];
        data.emit(&mut buf).unwrap();
        (buf, u16::try_from(data.bit_len()).unwrap())
    };

    let (bytes, bits) = text(DeliveryReportRequest::Received);
    s.send_sds(gw, unit_tsi, AiService::SdsType4, &bytes, bits);
    let out = s.radio_mut(gw).unwrap().poll_transmit().unwrap_or_default();
    let mut p = PeiParser::<1024>::new();
    let (_, event) = p.push(&out);
    let Some(Ok(borderlink_protocol::pei::Event::SdsReceived(sds))) = event else {
        panic!(
            "no report reached the gateway radio: {:?}",
            String::from_utf8_lossy(&out)
        );
    };
    assert_eq!(sds.header.calling, Some(PeiIdentity::Tsi(unit_tsi)));
    let Ok(UserData::Tl {
        pdu: TlPdu::Report(report),
        ..
    }) = decode(SdsKind::Type4, sds.data.as_bytes(), sds.header.bits)
    else {
        panic!("not an SDS-REPORT: {sds:?}");
    };
    assert_eq!(
        (report.status, report.message_reference),
        (DeliveryStatus::RECEIVED, 42)
    );

    let (bytes, bits) = text(DeliveryReportRequest::None);
    s.send_sds(gw, unit_tsi, AiService::SdsType4, &bytes, bits);
    assert_eq!(s.radio_mut(gw).unwrap().poll_transmit(), None);
}
