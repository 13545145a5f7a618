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

#[test]
fn a_static_patch_on_a_group_its_country_forbids_fails_the_check() {
    // Belgium allows only another ASTRID group to be patched; the example's static patch joins
    // 02060000102061001 all the same. The check must refuse what the daemon would refuse.
    let dir = std::env::temp_dir().join(format!("borderlink-check-sov-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("forbidden.toml");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/examples/one-box.toml"
    ))
    .expect("example");
    let forbidden = example.replacen(
        "# allowed_groups = [\"02060000102061001\"]",
        "allowed_groups = [\"02060000102069999\"]",
        1,
    );
    assert_ne!(forbidden, example, "the example changed: update this test");
    std::fs::write(&path, &forbidden).expect("write config");
    let line = forbidden
        .lines()
        .position(|l| {
            l.contains("{ site = 1, network = \"ASTRID\", group = \"02060000102061001\" }")
        })
        .expect("line")
        + 1;
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("patches[0].channels[0].group"), "{err}");
    assert!(
        err.contains(&format!(":{line}:")),
        "line {line} not named: {err}"
    );
    assert!(err.contains("never patched"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
