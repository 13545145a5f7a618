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
            "board.bin",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("wrote board.bin.blfw"));
    let signed = std::fs::read(dir.join("board.bin.blfw")).unwrap();
    assert_eq!(&signed[..8], b"BLFI\x01\x02\x04\x01");
    assert_eq!(&signed[112..], &image[..]);

    let out = run(&["firmware", "inspect", "--json", "board.bin.blfw"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], "2.4.1");
    assert_eq!(v["size"], 20_000);
    assert_eq!(v["signer"], public.as_str());
    assert_eq!(v["signature"], "valid");
    let out = run(&["firmware", "inspect", "board.bin.blfw"], &dir);
    assert!(text(&out.stdout).contains("version 2.4.1"));
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
    std::fs::write(dir.join("short.blfw"), &good[..good.len() - 1]).unwrap();
    for (file, expected) in [
        ("damaged.blfw", "CRC-32"),
        ("relabelled.blfw", "signature does not verify"),
        ("short.blfw", "300 bytes, but 299 follow"),
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
