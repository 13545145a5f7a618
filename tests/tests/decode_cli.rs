//! `borderlink decode`, run as a user runs it: real binary, real arguments, exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use borderlink_tests::binary;

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary("borderlink"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start borderlink");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for borderlink")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 error output")
}

const RTP_HEADER: &str = "900800070000046001020304bede000910a32533800112d687353380011f72c942000c01530000cafe770000019af232b2000000";

fn rtp_packet() -> String {
    format!("{RTP_HEADER}{}", "d5".repeat(160))
}

#[test]
fn rtp_text_names_talker_group_and_origin() {
    let out = run(&["decode", "rtp", &rtp_packet()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("seq 7"), "{text}");
    assert!(text.contains("talker     206-1-1234567 (ASTRID"), "{text}");
    assert!(text.contains("talkgroup  206-1-2061001"), "{text}");
    assert!(text.contains("origin     site 12, ASTRID"), "{text}");
}

#[test]
fn rtp_json_is_machine_readable() {
    let out = run(&["decode", "rtp", "--json", &rtp_packet()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["kind"], "rtp");
    assert_eq!(v["sequence"], 7);
    assert_eq!(v["radio"]["talkgroup"]["ssi"], 2_061_001);
    assert_eq!(v["radio"]["origin"]["network"], "ASTRID");
    assert_eq!(v["radio"]["tx"], "continue");
}

#[test]
fn rtp_from_stdin() {
    let out = run(&["decode", "rtp"], &rtp_packet());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("seq 7"));
}

#[test]
fn malformed_hex_exits_2_naming_the_offset() {
    let out = run(&["decode", "rtp", "90080zz7"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("character 5"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn malformed_rtp_exits_2_with_the_cause() {
    // Payload type 0 (PCMU) instead of 8.
    let bad = rtp_packet().replacen("9008", "9000", 1);
    let out = run(&["decode", "rtp", &bad], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("payload type 0 at offset 1"),
        "{}",
        stderr(&out)
    );
}

/// Baarle-Nassau, 51.4420 N 4.9290 E, 50.8 km/h east: the vector of `docs/wire.md`.
const LIP_BAARLE: &str = "0a003814c2494bb1588810";

#[test]
fn lip_text_gives_position_and_speed() {
    let out = run(&["decode", "lip", LIP_BAARLE], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("51.44200 N 4.92900 E"), "{text}");
    assert!(text.contains("50.8 km/h"), "{text}");
}

#[test]
fn lip_json_carries_degrees_and_raw_fields() {
    let out = run(&["decode", "lip", "--bits", "84", "--json", LIP_BAARLE], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["kind"], "lip");
    assert_eq!(v["bits"], 84);
    assert_eq!(v["latitude_raw"], 4_794_742);
    let lat = v["latitude"].as_f64().expect("latitude is a number");
    assert!((lat - 51.442).abs() < 1e-5, "{lat}");
}

#[test]
fn lip_nibble_exact_hex_decodes_like_whole_bytes() {
    // 84 bits as 21 digits (the last one a high half), as a Sepura radio prints them.
    let odd = run(&["decode", "lip", "--json", "0a003814c2494bb158881"], "");
    let even = run(&["decode", "lip", "--json", "--bits", "84", LIP_BAARLE], "");
    assert!(odd.status.success(), "{}", stderr(&odd));
    assert_eq!(stdout(&odd), stdout(&even));
}

#[test]
fn long_lip_without_a_fix_says_so() {
    let out = run(&["decode", "lip", "0A4C010AB0851"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("LIP long location report (52 bits)"),
        "{text}"
    );
    assert!(text.contains("no fix"), "{text}");
}

#[test]
fn lip_with_another_protocol_id_exits_2() {
    let out = run(&["decode", "lip", "0b003814c2494bb1588810"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("protocol identifier 0x0b, expected 0x0a"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn truncated_lip_names_the_bit_offset() {
    let out = run(&["decode", "lip", "0a0038"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at bit 12"), "{}", stderr(&out));
}

/// `SetPtt { port 2, keyed }`, host seq 7, as on the wire (worked example in `docs/wire.md`).
const LINK_KEY_PORT_2: &str = "03 02 07 06 02 02 01 a7 fa 00";

#[test]
fn link_text_names_the_command_and_its_fields() {
    let out = run(&["decode", "link", LINK_KEY_PORT_2], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("seq 7"), "{text}");
    assert!(
        text.contains("SetPtt (host → board, a command, acknowledged)"),
        "{text}"
    );
    assert!(text.contains("Port(2), keyed: true"), "{text}");
}

#[test]
fn link_json_of_a_board_nack() {
    let out = run(
        &["decode", "link", "--json", "02020b010dac02010c8004eb6400"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["kind"], "link");
    assert_eq!(v["seq"], 256);
    assert_eq!(v["message"]["Ack"]["seq"], 300);
    assert_eq!(
        v["message"]["Ack"]["result"]["Nack"]["OutOfOrder"]["expected"],
        512
    );
}

#[test]
fn link_with_a_flipped_bit_fails_the_crc() {
    let out = run(&["decode", "link", "03 02 07 06 02 02 01 a7 fb 00"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CRC mismatch"), "{}", stderr(&out));
}

fn example_transcript() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/group-call.pei"
    );
    std::fs::read_to_string(path).expect("the README's example transcript")
}

#[test]
fn pei_example_transcript_explains_the_call() {
    let out = run(&["decode", "pei"], &example_transcript());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("line   20: call 1: 206-1-1234567 (ASTRID"),
        "{text}"
    );
    assert!(text.contains("line   23: SDS from 206-1-1234567"), "{text}");
    assert!(text.contains("51.44200 N 4.92900 E"), "{text}");
    assert!(
        text.contains("line   26: call 1: transmit granted to this radio"),
        "{text}"
    );
    assert!(
        text.contains("line   32: call 1 released: pre-emption (9)"),
        "{text}"
    );
}

#[test]
fn pei_json_lines_carry_line_numbers_and_events() {
    let out = run(&["decode", "pei", "--json"], "OK\r\n\r\n+CTCR: 1,13\r\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["event"], "Ok");
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["event"]["CallReleased"]["cc"], 1);
}

#[test]
fn pei_errors_name_their_line_and_the_rest_still_decodes() {
    let out = run(&["decode", "pei"], "OK\r\n+CTXG: x\r\n+CTCR: 1,9\r\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2: +CTXG parameter 0"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("line    3: call 1 released: pre-emption"),
        "{}",
        stdout(&out)
    );
}

/// The field report behind issue 19: a `+CTICN` whose `<comms type>` is outside the table
/// stopped the transcript with exit 2. It is an incoming call, and the value is shown.
#[test]
fn pei_values_outside_a_table_and_radio_identification_are_decoded() {
    let out = run(
        &["decode", "pei"],
        "+CTICN: 1,0,0,5,09011638300023404,1,1,0,9,1,5,09011638300023401,0\r\n\
         +CREG: 2\r\n+CREG: 1,17,2041\r\n+GMI: Sepura plc\r\n+GMM: SRG3900\r\n\
         +CNUMS: 1,09011638300000201\r\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "line    1: incoming call 1: Speech from 901-16383-23404 (foreign network, PEI 09011638300023404) to 901-16383-23401 (foreign network, PEI 09011638300023401), comms type 9 (not in the table), priority 0",
        "line    2: NOT registered on the network (Searching (2))",
        "line    3: registered on the network (RegisteredHome (1)), location area 17, network 2041",
        "line    4: manufacturer: Sepura plc",
        "line    5: model: SRG3900",
        "line    6: static identity 901-16383-201 (foreign network, PEI 09011638300000201) (Group)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn pei_last_line_without_line_end_is_not_lost() {
    let out = run(&["decode", "pei"], "OK\r\n+CTCR: 2,13");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("line    2: call 2 released"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn pei_cr_only_transcript_counts_carriage_returns() {
    let out = run(&["decode", "pei"], "OK\r\r+CTCR: 2,13\r");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("line    3: call 2 released"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    // `borderlink decode pei < long.pei | head -1`: the pipe closes after the first line.
    let transcript = "OK\r\n".repeat(20_000);
    let mut child = Command::new(binary("borderlink"))
        .args(["decode", "pei"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start borderlink");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(transcript.as_bytes()));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("first line");
    drop(stdout);
    let out = child.wait_with_output().expect("wait for borderlink");
    writer
        .join()
        .expect("writer thread")
        .expect("transcript written");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "status {:?}: {err}", out.status);
}

#[test]
fn sds_report_names_status_and_reference() {
    let out = run(&["decode", "sds", "82 10 4b 07"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("SDS-TL SDS-REPORT (32 bits)"), "{text}");
    assert!(
        text.contains("message reference 7: 0x4b destination not registered on system"),
        "{text}"
    );
}

#[test]
fn sds_concatenated_part_json_carries_the_text_and_the_part() {
    let out = run(
        &[
            "decode",
            "sds",
            "--json",
            "8a00c98d045a8f050003c9020150617463 68a4",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["type"], "udh_text");
    assert_eq!(v["text"], "Patch€");
    let c = &v["data"]["header"]["concatenation"];
    assert_eq!(
        (c["total"].as_u64(), c["part"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn sds_text_in_a_reserved_coding_is_shown_as_hex() {
    let out = run(&["decode", "sds", "024068 69"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("text (reserved coding 64, 16 bits): 6869"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn truncated_sds_report_exits_2_naming_the_bit() {
    let out = run(&["decode", "sds", "821000"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at bit 24"), "{}", stderr(&out));
}
