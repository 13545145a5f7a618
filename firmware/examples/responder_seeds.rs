//! Writes the seed corpus of the `responder` fuzz target (`fuzz/fuzz_targets/responder.rs`):
//! host byte streams that open a session, key and release PTT, run a complete signed update
//! to its commit (signed with the fuzz target's key, the legacy way and with a security
//! version), and break the update rules.
//!
//! `cargo run -p borderlink-firmware --example responder_seeds -- fuzz/corpus/responder`

use std::path::PathBuf;

use borderlink_protocol::link::{
    FirmwareVersion, FrameRepr, MAX_CHUNK, MAX_WIRE_LEN, Message, Port, Signature, encode,
    image_crc32, signed_prefix, signed_prefix_v2,
};

/// The fuzz target's key seed.
const KEY_SEED: [u8; 32] = [0xf2; 32];

struct Stream {
    bytes: Vec<u8>,
    seq: u16,
}

impl Stream {
    fn new() -> Self {
        // The chunking seed, then a lone 0x00 as a host opening the port writes.
        Stream {
            bytes: vec![0x01, 0x00],
            seq: 1,
        }
    }

    fn send(&mut self, message: Message<'_>) -> &mut Self {
        let mut buf = [0u8; MAX_WIRE_LEN];
        let n = encode(
            &FrameRepr {
                seq: self.seq,
                message,
            },
            &mut buf,
        )
        .expect("encode");
        self.seq = self.seq.wrapping_add(1);
        self.bytes.extend_from_slice(&buf[..n]);
        self
    }

    /// Empty frames (lone delimiters, ignored by the board): several pieces, so some
    /// milliseconds pass and the board finishes erasing or verifying.
    fn pause(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&[0; 200]);
        self
    }
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus/responder".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let port = |n| Port::new(n).expect("port");

    let mut keying = Stream::new();
    keying
        .send(Message::Hello)
        .send(Message::SetPtt {
            port: port(1),
            keyed: true,
        })
        .send(Message::Heartbeat)
        .send(Message::GetPtt { port: port(1) })
        .send(Message::SetPtt {
            port: port(1),
            keyed: false,
        })
        .send(Message::GetTelemetry);
    std::fs::write(dir.join("hello_key_release"), &keying.bytes)?;

    let mut no_hello = Stream::new();
    no_hello.send(Message::SetPtt {
        port: port(0),
        keyed: true,
    });
    std::fs::write(dir.join("key_without_hello"), &no_hello.bytes)?;

    let version = FirmwareVersion::new(1, 1, 0);
    let image: Vec<u8> = (0..1500u32).map(|i| (i * 13 % 256) as u8).collect();
    let mut message = signed_prefix(version, image.len() as u32).to_vec();
    message.extend_from_slice(&image);
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(KEY_SEED));
    let signature = Signature::from_bytes(&pair.sk.sign(message, None));
    let begin = Message::UpdateBegin {
        size: image.len() as u32,
        crc32: image_crc32(&image),
        version,
    };

    let mut update = Stream::new();
    update.send(Message::Hello).send(begin).pause();
    for (i, data) in image.chunks(MAX_CHUNK).enumerate() {
        update.send(Message::UpdateChunk {
            offset: (i * MAX_CHUNK) as u32,
            data,
        });
    }
    update
        .send(Message::UpdateVerify { signature })
        .pause()
        .send(Message::GetUpdateStatus)
        .send(Message::UpdateCommit)
        .send(Message::Heartbeat)
        .send(Message::Hello)
        .send(Message::SetPtt {
            port: port(2),
            keyed: true,
        });
    std::fs::write(dir.join("signed_update_commit"), &update.bytes)?;

    let mut rules = Stream::new();
    rules
        .send(Message::Hello)
        .send(Message::SetPtt {
            port: port(0),
            keyed: true,
        })
        .send(begin)
        .send(Message::SetPtt {
            port: port(0),
            keyed: false,
        })
        .send(begin)
        .pause()
        .send(Message::SetPtt {
            port: port(3),
            keyed: true,
        })
        .send(Message::UpdateChunk {
            offset: 256,
            data: &image[256..512],
        })
        .send(Message::UpdateChunk {
            offset: 0,
            data: &image[..100],
        })
        .send(Message::UpdateChunk {
            offset: 1400,
            data: &image[..200],
        })
        .send(Message::UpdateVerify { signature })
        .send(Message::UpdateCommit)
        .send(Message::UpdateAbort)
        .send(Message::SetPtt {
            port: port(3),
            keyed: true,
        });
    std::fs::write(dir.join("update_rules"), &rules.bytes)?;

    // With a security version: an update that commits, then an older one refused without the
    // override and begun with it.
    let mut message = signed_prefix_v2(version, 2, image.len() as u32).to_vec();
    message.extend_from_slice(&image);
    let signature = Signature::from_bytes(&pair.sk.sign(message, None));
    let secure = |security_version, allow_rollback| Message::UpdateBeginSecure {
        size: image.len() as u32,
        crc32: image_crc32(&image),
        version,
        security_version: Some(security_version),
        allow_rollback,
    };
    let mut update = Stream::new();
    update.send(Message::Hello).send(secure(2, false)).pause();
    for (i, data) in image.chunks(MAX_CHUNK).enumerate() {
        update.send(Message::UpdateChunk {
            offset: (i * MAX_CHUNK) as u32,
            data,
        });
    }
    update
        .send(Message::UpdateVerify { signature })
        .pause()
        .send(Message::UpdateCommit)
        .send(Message::Hello)
        .send(secure(1, false))
        .send(secure(1, true))
        .pause()
        .send(Message::UpdateAbort);
    std::fs::write(dir.join("secure_update_and_rollback"), &update.bytes)?;
    Ok(())
}
