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

const RTP_HEADER: &str =
    "900800070000046001020304bede000710a32533800112d687353380011f72c942000c01530000cafe000000";

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
