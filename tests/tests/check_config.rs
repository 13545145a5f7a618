//! `borderlinkd --check-config`, as an engineer runs it before installing a site's file.

use std::process::Command;

use borderlink_tests::binary;

fn check(path: &std::path::Path) -> std::process::Output {
    Command::new(binary("borderlinkd"))
        .arg("--check-config")
        .arg(path)
        .output()
        .expect("run borderlinkd")
}

#[test]
fn every_example_config_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/examples");
    for name in ["one-box.toml", "two-site-a.toml", "two-site-b.toml"] {
        let out = check(&std::path::Path::new(dir).join(name));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("valid"),
            "{name}"
        );
    }
}

#[test]
fn an_invalid_file_exits_2_naming_key_and_line() {
    let dir = std::env::temp_dir().join(format!("borderlink-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/examples/one-box.toml"
    ))
    .expect("example");
    // Break the first radio's identity: a letter in the digits.
    let bad = example.replacen(
        "issi = \"02060000109000001\"",
        "issi = \"0206000010900000X\"",
        1,
    );
    assert_ne!(bad, example, "the example changed: update this test");
    std::fs::write(&path, &bad).expect("write config");
    let line = bad
        .lines()
        .position(|l| l.contains("0206000010900000X"))
        .expect("line")
        + 1;
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("radios[0].issi"), "{err}");
    assert!(
        err.contains(&format!(":{line}:")),
        "line {line} not named: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_is_reported() {
    let out = check(std::path::Path::new("/nonexistent/borderlink.toml"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/borderlink.toml"));
}
