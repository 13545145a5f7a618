//! Proof that standard tools see valid RTP: a transmission of borderlink voice packets is
//! written to a pcap and dissected by tshark (Wireshark's engine), and every field tshark
//! reads must match what was sent.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::g711;
use borderlink_protocol::voice::{
    FRAME_LEN, FRAME_SAMPLES, KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId,
    StreamId, TxState, VoiceRepr,
};

use crate::pcap;

const PORT: u16 = 5004;
const PACKETS: u16 = 50;

fn packet(seq: u16, frame: &[u8]) -> VoiceRepr<'_> {
    let tx = match seq {
        0 => TxState::Start,
        s if s == PACKETS - 1 => TxState::End,
        _ => TxState::Continue,
    };
    VoiceRepr {
        sequence: seq.wrapping_add(65_500), // crosses the 16-bit wrap on purpose
        timestamp: u32::from(seq) * FRAME_SAMPLES,
        ssrc: 0x0b0d_e71c,
        radio: RadioHeader {
            tx,
            squelch_open: true,
            emergency: false,
            priority: Priority::new(3).expect("valid priority"),
            talker: Some(Tsi::from_parts(206, 1, 1_234_567).expect("valid TSI")),
            talkgroup: Tsi::from_parts(206, 1, 2_061_001).expect("valid TSI"),
            origin: Origin {
                site: SiteId(12),
                network: Some(Network::Astrid),
            },
            stream: StreamId(0xcafe),
            started: KeyUpTime(1_765_000_000_000),
        },
        payload: frame,
    }
}

/// A 400 Hz tone in G.711 A-law, so a listener in Wireshark's RTP player hears something.
fn tone_frame(index: u16) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    for (i, b) in frame.iter_mut().enumerate() {
        let t = f64::from(index) * 0.02 + i as f64 / 8000.0;
        let sample = (8000.0 * (2.0 * std::f64::consts::PI * 400.0 * t).sin()) as i16;
        *b = g711::encode(sample);
    }
    frame
}

pub(crate) fn run(out_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    let path = out_dir.join("borderlink-voice.pcap");
    let mut file = BufWriter::new(File::create(&path)?);
    pcap::write_header(&mut file)?;
    let mut buf = [0u8; MAX_PACKET_LEN];
    for seq in 0..PACKETS {
        let frame = tone_frame(seq);
        let payload: &[u8] = if seq == PACKETS - 1 { &[] } else { &frame };
        let len = packet(seq, payload).emit(&mut buf)?;
        let t = 1_700_000_000_000_000 + u64::from(seq) * 20_000;
        pcap::write_udp(
            &mut file,
            t,
            ([127, 0, 0, 1], 40_000),
            ([127, 0, 0, 2], PORT),
            &buf[..len],
        )?;
    }
    drop(file);

    let output = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args([
            "-d",
            &format!("udp.port=={PORT},rtp"),
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "rtp.version",
            "-e",
            "rtp.p_type",
            "-e",
            "rtp.seq",
            "-e",
            "rtp.marker",
        ])
        .args([
            "-e",
            "rtp.timestamp",
            "-e",
            "rtp.ssrc",
            "-e",
            "rtp.ext.profile",
        ])
        .args([
            "-e",
            "rtp.ext.rfc5285.id",
            "-e",
            "rtp.ext.rfc5285.len",
            "-e",
            "_ws.expert",
        ])
        .output()
        .context("running tshark (install it: apt-get install tshark)")?;
    if !output.status.success() {
        bail!("tshark failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8(output.stdout)?;
    let lines: Vec<&str> = stdout.lines().collect();
    ensure!(
        lines.len() == usize::from(PACKETS),
        "tshark saw {} packets, expected {PACKETS}",
        lines.len()
    );
    for (seq, line) in (0..PACKETS).zip(&lines) {
        let f: Vec<&str> = line.split('|').collect();
        ensure!(f.len() == 10, "unexpected tshark output: {line}");
        let sent = packet(seq, &[]);
        let check = |field: &str, got: &str, want: String| {
            ensure!(
                got == want,
                "packet {seq}: tshark {field} = {got:?}, sent {want:?}"
            );
            Ok(())
        };
        check("rtp.version", f[0], "2".into())?;
        check("rtp.p_type", f[1], "8".into())?;
        check("rtp.seq", f[2], sent.sequence.to_string())?;
        let marker = if seq == 0 { "1" } else { "0" };
        ensure!(
            f[3] == marker || f[3] == ["False", "True"][usize::from(seq == 0)],
            "packet {seq}: marker {:?}",
            f[3]
        );
        check("rtp.timestamp", f[4], sent.timestamp.to_string())?;
        check(
            "rtp.ssrc",
            &f[5].to_ascii_lowercase(),
            format!("{:#010x}", sent.ssrc),
        )?;
        check(
            "rtp.ext.profile",
            &f[6].to_ascii_lowercase(),
            "0xbede".into(),
        )?;
        check("rtp.ext.rfc5285.id", f[7], "1,2,3,4,5,7".into())?;
        // tshark reports each element's data length (the wire field holds length - 1).
        check("rtp.ext.rfc5285.len", f[8], "1,6,6,3,4,8".into())?;
        ensure!(
            f[9].is_empty(),
            "packet {seq}: tshark expert info {:?}",
            f[9]
        );
    }
    println!(
        "wireshark: tshark dissected {PACKETS} borderlink voice packets as RTP (pt 8, RFC 8285 \
         elements 1-5 and 7); pcap at {}",
        path.display()
    );
    Ok(())
}
