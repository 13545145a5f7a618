//! ITU-T G.711 A-law: the 8-bit companded audio every borderlink voice packet carries.
//!
//! A-law keeps the top 13 bits of a linear sample and stores them as a sign, a 3-bit segment
//! (a power-of-two range) and a 4-bit position in that segment, with every other bit inverted
//! (XOR 0x55) so that idle lines carry transitions. [`decode`] reads a 256-entry table built at
//! compile time; [`encode`] is a handful of integer operations. Neither allocates nor panics.
//! `encode(decode(c)) == c` for every code `c`, so decoding and re-encoding a frame (to fade
//! it, say) changes nothing but what was meant to change.
//!
//! The silence helpers measure a frame's mean power against a threshold in dBFS, where
//! 0 dBFS is the power of a sine that peaks at full scale (AES17); A-law's quietest codes
//! (`0xd5`/`0x55`, ±8) sit at −69 dBFS.
//!
//! ```
//! use borderlink_protocol::voice::g711;
//! assert_eq!(g711::encode(0), g711::SILENCE);
//! assert_eq!(g711::decode(g711::SILENCE), 8);
//! assert!(g711::is_silent(&[g711::SILENCE; 160], -50));
//! assert!(!g711::is_silent(&[g711::encode(8_000); 160], -50));
//! ```

/// The A-law code for a zero sample: what a silent line carries.
pub const SILENCE: u8 = 0xd5;

/// Bits inverted on the wire (G.711 §2: even bits).
const INVERT: u8 = 0x55;
/// Sign bit of a code after inversion: set for positive samples.
const SIGN: u8 = 0x80;

/// Every code's linear value, 16-bit scale.
const DECODE: [i16; 256] = decode_table();
/// Every code's linear value squared (at most 32256², below 2^30).
const POWER: [u32; 256] = power_table();

const fn power_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut code = 0;
    while code < 256 {
        let v = DECODE[code] as i32;
        table[code] = (v * v) as u32;
        code += 1;
    }
    table
}

const fn decode_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = decode_code(code as u8);
        code += 1;
    }
    table
}

const fn decode_code(code: u8) -> i16 {
    let v = code ^ INVERT;
    let segment = ((v >> 4) & 0x07) as u32;
    let mantissa = (v & 0x0f) as i32;
    // Reconstruct at the middle of the quantisation step, in 13-bit units, then scale to 16.
    let magnitude = if segment == 0 {
        (mantissa << 1) | 1
    } else {
        ((mantissa | 0x10) << segment) | (1 << (segment - 1))
    };
    let linear = (magnitude << 3) as i16;
    if v & SIGN != 0 { linear } else { -linear }
}

/// Decodes one A-law code to a linear 16-bit sample.
pub const fn decode(code: u8) -> i16 {
    DECODE[code as usize]
}

/// Encodes a linear 16-bit sample as A-law, rounding towards zero within the step.
pub const fn encode(sample: i16) -> u8 {
    // A-law sees 13 bits. Negative values are taken in one's complement (-1 becomes 0), which
    // keeps the code space symmetric: +0 and -0 are 0xd5 and 0x55.
    let s = (sample >> 3) as i32;
    let (sign, magnitude) = if s >= 0 { (SIGN, s) } else { (0, -s - 1) };
    // magnitude is 0..=4095: segment 0 covers 0..32 in steps of 2, segment n >= 1 covers
    // [16 << n, 32 << n) in steps of 1 << n.
    let bits = 32 - (magnitude as u32).leading_zeros();
    let segment = bits.saturating_sub(5);
    let shift = if segment == 0 { 1 } else { segment };
    let mantissa = ((magnitude >> shift) & 0x0f) as u8;
    (sign | ((segment as u8) << 4) | mantissa) ^ INVERT
}

/// Decodes `codes` into `samples`, as far as the shorter of the two goes.
pub fn decode_into(codes: &[u8], samples: &mut [i16]) {
    for (s, &c) in samples.iter_mut().zip(codes) {
        *s = decode(c);
    }
}

/// Encodes `samples` into `codes`, as far as the shorter of the two goes.
pub fn encode_into(samples: &[i16], codes: &mut [u8]) {
    for (c, &s) in codes.iter_mut().zip(samples) {
        *c = encode(s);
    }
}

/// Mean power of an A-law frame: the mean of its squared linear samples (0 for no samples).
///
/// The largest value is 32256² ≈ 1.04 × 10⁹, so it fits a `u32`.
pub fn frame_energy(frame: &[u8]) -> u32 {
    if frame.is_empty() {
        return 0;
    }
    let sum: u64 = frame.iter().map(|&c| u64::from(POWER[c as usize])).sum();
    // The mean of values below 2^30 is below 2^30.
    u32::try_from(sum / frame.len() as u64).unwrap_or(u32::MAX)
}

/// The mean power (as [`frame_energy`] measures it) of a signal at `dbfs`, saturating.
///
/// Integer arithmetic only (no `log10` in `core`): `2^29 · 10^(dbfs/10)` from a table of the
/// ten tenths of a decade.
pub const fn energy_at_dbfs(dbfs: i8) -> u64 {
    /// round(2^29 · 10^(-r/10)) for r = 0..=9: 0 dBFS is a full-scale sine (32768²/2).
    const DECADE: [u64; 10] = [
        536_870_912,
        426_451_724,
        338_742_645,
        269_072_847,
        213_732_160,
        169_773_489,
        134_855_876,
        107_119_830,
        85_088_305,
        67_588_043,
    ];
    if dbfs > 6 {
        // Above +6 dBFS lies beyond any A-law frame (the loudest reads +3 dBFS).
        return u64::MAX;
    }
    if dbfs >= 0 {
        // 0..=6 dB above the reference: 2^29 · 10^(d/10) = 10 · 2^29 · 10^(-(10-d)/10).
        let d = dbfs as usize;
        return if d == 0 {
            DECADE[0]
        } else {
            10 * DECADE[10 - d]
        };
    }
    let below = -(dbfs as i32) as u32; // 1..=128
    let decades = below / 10;
    let tenths = (below % 10) as usize;
    let mut e = DECADE[tenths];
    let mut i = 0;
    while i < decades {
        e /= 10;
        i += 1;
    }
    e
}

/// Whether a frame's mean power is below `threshold_dbfs` (e.g. −50 for "no speech").
///
/// An empty slice counts as silent.
pub fn is_silent(frame: &[u8], threshold_dbfs: i8) -> bool {
    u64::from(frame_energy(frame)) < energy_at_dbfs(threshold_dbfs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_points_of_the_standard() {
        assert_eq!(encode(0), 0xd5);
        assert_eq!(encode(-1), 0x55);
        assert_eq!(encode(i16::MAX), 0xaa);
        assert_eq!(encode(i16::MIN), 0x2a);
        assert_eq!(decode(0xd5), 8);
        assert_eq!(decode(0x55), -8);
        // Loudest codes: segment 7, mantissa 15, middle of the step: (31 << 7 | 64) << 3.
        assert_eq!(decode(0xaa), 32_256);
        assert_eq!(decode(0x2a), -32_256);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(encode(decode(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn decoding_is_odd_and_monotonic_in_magnitude() {
        // Flipping the sign bit negates the value exactly.
        for code in 0..=255u8 {
            assert_eq!(decode(code ^ 0x80), -decode(code), "code {code:#04x}");
        }
        // Positive codes, in order of (segment, mantissa), give strictly increasing values.
        let mut last = 0;
        for step in 0..128u8 {
            let v = decode((0x80 | step) ^ INVERT);
            assert!(v > last, "step {step}: {v} after {last}");
            last = v;
        }
    }

    #[test]
    fn encoding_lands_within_half_a_step() {
        // Decoding gives the middle of the step the sample fell in; the 13-bit truncation
        // adds up to 8 more. A step is 16 in segments 0 and 1 and 8 << n in segment n.
        for s in i16::MIN..=i16::MAX {
            let code = encode(s);
            let segment = ((code ^ INVERT) >> 4) & 0x07;
            let step = if segment < 2 { 16 } else { 8 << segment };
            let err = (i32::from(decode(code)) - i32::from(s)).abs();
            assert!(err <= step / 2 + 8, "{s} decoded back as {}", decode(code));
        }
    }

    #[test]
    fn slices_convert_as_far_as_the_shorter_goes() {
        let mut codes = [0u8; 3];
        encode_into(&[0, -1], &mut codes);
        assert_eq!(codes, [0xd5, 0x55, 0]);
        let mut samples = [0i16; 2];
        decode_into(&[0xd5, 0x55, 0xaa], &mut samples);
        assert_eq!(samples, [8, -8]);
    }

    #[test]
    fn energy_of_known_frames() {
        assert_eq!(frame_energy(&[]), 0);
        assert_eq!(frame_energy(&[SILENCE; 160]), 64);
        assert_eq!(frame_energy(&[0xaa; 160]), 32_256 * 32_256);
        // Half the frame at +8000 (exact code value 8064 after quantisation), half silence.
        let loud = encode(8_064);
        assert_eq!(decode(loud), 8_064);
        let mut frame = [SILENCE; 160];
        frame[..80].fill(loud);
        assert_eq!(frame_energy(&frame), (8_064 * 8_064 + 64) / 2);
    }

    #[test]
    fn dbfs_thresholds_follow_the_decibel_scale() {
        assert_eq!(energy_at_dbfs(0), 1 << 29);
        assert_eq!(energy_at_dbfs(-10), (1 << 29) / 10);
        assert_eq!(energy_at_dbfs(-30), (1 << 29) / 1_000);
        assert_eq!(energy_at_dbfs(-3), 269_072_847);
        // +3 dB is 10^0.3 = 1.995 times the power.
        assert_eq!(energy_at_dbfs(3), 1_071_198_300);
        assert_eq!(energy_at_dbfs(6), 2_137_321_600);
        assert_eq!(energy_at_dbfs(7), u64::MAX);
        assert_eq!(energy_at_dbfs(i8::MAX), u64::MAX);
        assert_eq!(energy_at_dbfs(i8::MIN), 0);
        // Monotonic over the whole range.
        for db in i8::MIN..i8::MAX {
            assert!(energy_at_dbfs(db) <= energy_at_dbfs(db + 1), "{db}");
        }
    }

    #[test]
    fn silence_detection_uses_the_threshold() {
        let idle = [SILENCE; 160];
        assert!(is_silent(&idle, -60)); // idle line is at -69 dBFS
        assert!(!is_silent(&idle, -70));
        // A frame at 8064 peak-constant: 10·log10(8064²/2^29) = -9.2 dBFS.
        let speech = [encode(8_064); 160];
        assert!(!is_silent(&speech, -10));
        assert!(is_silent(&speech, -9));
        assert!(is_silent(&[], -50));
    }
}
