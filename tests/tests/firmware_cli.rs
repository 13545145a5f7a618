//! `borderlink firmware keygen|sign|inspect`, run as an engineer runs them: real binary, real
//! files, exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use borderlink_tests::binary;

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(binary("borderlink"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run borderlink")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("borderlink-fw-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The public key `keygen` printed.
fn printed_key(out: &Output) -> String {
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap_or_else(|| panic!("no public key in {stdout}"));
    line.trim().to_owned()
}

#[test]
fn keygen_sign_inspect_round_trip() {
    let dir = scratch("roundtrip");
    let out = run(&["firmware", "keygen", "--out", "release.pem"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let public = printed_key(&out);
    assert_eq!(public.len(), 64);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("BORDERLINK_FIRMWARE_PUBLIC_KEY={public}")));
    assert!(stdout.contains("pub const FIRMWARE_PUBLIC_KEY: [u8; 32]"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("release.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    }
    let image: Vec<u8> = (0..20_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.join("board.bin"), &image).unwrap();
    let out = run(
        &[
            "firmware",
            "sign",
            "--key",
            "release.pem",
            "--version",
            "2.4.1",
            "--security-version",
            "5",
            "board.bin",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("wrote board.bin.blfw"));
    let signed = std::fs::read(dir.join("board.bin.blfw")).unwrap();
    // Format 3, security version 5, one variant for any slot (slot byte 0 at 45), the image
    // after its header.
    assert_eq!(&signed[..12], b"BLFI\x03\x02\x04\x01\x05\x00\x00\x00");
    assert_eq!((signed[44], signed[45]), (1, 0));
    assert_eq!(&signed[45 + 73..], &image[..]);

    let out = run(&["firmware", "inspect", "--json", "board.bin.blfw"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], "2.4.1");
    assert_eq!(v["security_version"], 5);
    assert_eq!(v["legacy"], false);
    assert_eq!(v["signer"], public.as_str());
    assert_eq!(v["dev_key"], false);
    assert_eq!(v["signature"], "valid");
    assert_eq!(v["variants"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["variants"][0]["slot"], "any");
    assert_eq!(v["variants"][0]["size"], 20_000);
    assert_eq!(v["variants"][0]["signature"], "valid");
    let out = run(&["firmware", "inspect", "board.bin.blfw"], &dir);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("version 2.4.1"), "{stdout}");
    assert!(stdout.contains("security   security version 5"), "{stdout}");
    assert!(!stdout.contains("development key"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sign_writes_where_asked_and_reads_openssl_style_keys() {
    let dir = scratch("openssl");
    // The checked-in development key is an `openssl genpkey -algorithm ed25519` file.
    let dev_key =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/keys/dev-signing-key.pem");
    std::fs::write(dir.join("fw.bin"), b"not much of a firmware").unwrap();
    let out = run(
        &[
            "firmware",
            "sign",
            "--key",
            dev_key.to_str().unwrap(),
            "--version",
            "0.1.0",
            "--security-version",
            "5",
            "fw.bin",
            "-o",
            "out.signed",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dev_public = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/keys/dev-public-key.hex"),
    )
    .unwrap();
    let out = run(&["firmware", "inspect", "--json", "out.signed"], &dir);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["signer"], dev_public.trim());
    assert_eq!(v["dev_key"], true);
    let out = run(&["firmware", "inspect", "out.signed"], &dir);
    assert!(
        text(&out.stdout).contains("(the development key: bench boards only)"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_builds_for_each_slot_are_signed_into_one_file_and_inspected() {
    let dir = scratch("slots");
    let out = run(&["firmware", "keygen", "--out", "k.pem"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(dir.join("a.bin"), [0xa0u8; 1000]).unwrap();
    std::fs::write(dir.join("b.bin"), [0xb0u8; 1200]).unwrap();
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "firmware",
            "sign",
            "--key",
            "k.pem",
            "--version",
            "3.1.4",
            "--security-version",
            "2",
        ];
        args.extend_from_slice(extra);
        run(&args, &dir)
    };
    let out = sign(&["--slot-a", "a.bin", "--slot-b", "b.bin", "-o", "rel.blfw"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("slot A   a.bin (1000 bytes")
            && stdout.contains("slot B   b.bin (1200 bytes")
            && stdout.contains("wrote rel.blfw"),
        "{stdout}"
    );
    let out = run(&["firmware", "inspect", "--json", "rel.blfw"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], "3.1.4");
    assert_eq!(v["variants"][0]["slot"], "A", "{v}");
    assert_eq!(v["variants"][0]["size"], 1000);
    assert_eq!(v["variants"][1]["slot"], "B", "{v}");
    assert_eq!(v["variants"][1]["size"], 1200);
    assert_eq!(v["variants"].as_array().map(Vec::len), Some(2));
    let out = run(&["firmware", "inspect", "rel.blfw"], &dir);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2 image(s)")
            && stdout.contains("slot A     1000 bytes")
            && stdout.contains("slot B     1200 bytes"),
        "{stdout}"
    );

    // One slot alone is a file too.
    let out = sign(&["--slot-b", "b.bin", "-o", "b-only.blfw"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["firmware", "inspect", "--json", "b-only.blfw"], &dir);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["variants"][0]["slot"], "B", "{v}");

    // Usage errors: an "any" image with per-slot ones, per-slot images without --out, nothing.
    for extra in [
        &["a.bin", "--slot-b", "b.bin"][..],
        &["--slot-a", "a.bin"][..],
        &[][..],
    ] {
        let out = sign(extra);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            text(&out.stderr)
        );
    }

    // A damaged second variant is named.
    let mut damaged = std::fs::read(dir.join("rel.blfw")).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(dir.join("damaged.blfw"), &damaged).unwrap();
    let out = run(&["firmware", "inspect", "damaged.blfw"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("damaged.blfw: variant 2 (slot B): image CRC-32"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_release_states_its_security_version_or_is_explicitly_legacy() {
    let dir = scratch("security");
    let out = run(&["firmware", "keygen", "--out", "k.pem"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(dir.join("fw.bin"), [7u8; 500]).unwrap();
    let base = ["firmware", "sign", "--key", "k.pem", "--version", "1.0.0"];
    // Forgetting it is a usage error that names it.
    let out = run(&[&base[..], &["fw.bin"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--security-version"),
        "{}",
        text(&out.stderr)
    );
    // Both at once is one too.
    let out = run(
        &[
            &base[..],
            &["--security-version", "1", "--legacy", "fw.bin"],
        ]
        .concat(),
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    // --legacy writes the format boards of before security versions take.
    let out = run(
        &[&base[..], &["--legacy", "fw.bin", "-o", "old.blfw"]].concat(),
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(dir.join("old.blfw")).unwrap()[4], 2);
    let out = run(&["firmware", "inspect", "--json", "old.blfw"], &dir);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (&v["security_version"], &v["legacy"]),
        (&0.into(), &true.into())
    );
    let out = run(&["firmware", "inspect", "old.blfw"], &dir);
    assert!(
        text(&out.stdout).contains("security version 0 (legacy"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keygen_never_overwrites_a_key() {
    let dir = scratch("overwrite");
    std::fs::write(dir.join("precious.pem"), "keep me").unwrap();
    let out = run(&["firmware", "keygen", "--out", "precious.pem"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("precious.pem"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.pem")).unwrap(),
        "keep me"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = scratch("bad");
    let out = run(&["firmware", "keygen", "--out", "k.pem"], &dir);
    assert!(out.status.success());
    std::fs::write(dir.join("fw.bin"), [1u8; 300]).unwrap();
    std::fs::write(dir.join("app.elf"), b"\x7fELF\x02\x01\x01 rest of an ELF").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "firmware",
                "sign",
                "--key",
                "fw.bin",
                "--version",
                "1.0.0",
                "--security-version",
                "5",
                "fw.bin",
            ],
            "PKCS#8",
        ),
        (
            &[
                "firmware",
                "sign",
                "--key",
                "missing.pem",
                "--version",
                "1.0.0",
                "--security-version",
                "5",
                "fw.bin",
            ],
            "missing.pem",
        ),
        (
            &[
                "firmware",
                "sign",
                "--key",
                "k.pem",
                "--version",
                "1.0.0",
                "--security-version",
                "5",
                "app.elf",
            ],
            "objcopy -O binary",
        ),
        (
            &["firmware", "inspect", "fw.bin"],
            "not a signed borderlink image",
        ),
    ];
    for (args, expected) in cases {
        let out = run(args, &dir);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // A version clap refuses is a usage error (clap's status 2, naming the value).
    let out = run(
        &[
            "firmware",
            "sign",
            "--key",
            "k.pem",
            "--version",
            "1.300.0",
            "--security-version",
            "5",
            "fw.bin",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("1.300.0"));

    // A signed file damaged in one byte of its image, or relabelled to another version.
    let out = run(
        &[
            "firmware",
            "sign",
            "--key",
            "k.pem",
            "--version",
            "1.0.0",
            "--security-version",
            "5",
            "fw.bin",
        ],
        &dir,
    );
    assert!(out.status.success());
    let good = std::fs::read(dir.join("fw.bin.blfw")).unwrap();
    let mut damaged = good.clone();
    damaged[200] ^= 1;
    std::fs::write(dir.join("damaged.blfw"), &damaged).unwrap();
    let mut relabelled = good.clone();
    relabelled[5] = 9;
    std::fs::write(dir.join("relabelled.blfw"), &relabelled).unwrap();
    // An old release given a higher security version, to pass a board's floor.
    let mut raised = good.clone();
    raised[8] = 6;
    std::fs::write(dir.join("raised.blfw"), &raised).unwrap();
    std::fs::write(dir.join("short.blfw"), &good[..good.len() - 1]).unwrap();
    for (file, expected) in [
        ("damaged.blfw", "CRC-32"),
        ("relabelled.blfw", "signature does not verify"),
        ("raised.blfw", "signature does not verify"),
        ("short.blfw", "300 bytes, but the file holds 299"),
    ] {
        let out = run(&["firmware", "inspect", file], &dir);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = text(&out.stderr);
        assert!(
            err.contains(file) && err.contains(expected),
            "{file}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
