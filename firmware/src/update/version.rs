//! The running image's version, as the board support code fixes it at build time.

use borderlink_protocol::link::FirmwareVersion;

/// `MAJOR.MINOR.PATCH` (each 0-255) as a [`FirmwareVersion`], in a `const`: anything else
/// panics, which in a constant stops the build with the message. Board images take their
/// version from `BORDERLINK_FIRMWARE_VERSION` at build time, else from their crate's.
pub const fn parse_version(text: &str) -> FirmwareVersion {
    match try_parse_version(text) {
        Some(version) => version,
        None => panic!("the firmware version is not MAJOR.MINOR.PATCH with each part 0-255"),
    }
}

/// `MAJOR.MINOR.PATCH` (each 0-255) as a [`FirmwareVersion`], `None` if it is not that.
pub const fn try_parse_version(text: &str) -> Option<FirmwareVersion> {
    let bytes = text.as_bytes();
    let mut parts = [0u32; 3];
    let mut part = 0;
    let mut digits = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'.' {
            if digits == 0 || part == 2 {
                return None;
            }
            part += 1;
            digits = 0;
        } else if b.is_ascii_digit() && digits < 3 {
            parts[part] = parts[part] * 10 + (b - b'0') as u32;
            if parts[part] > 255 {
                return None;
            }
            digits += 1;
        } else {
            return None;
        }
        i += 1;
    }
    if digits == 0 || part != 2 {
        return None;
    }
    Some(FirmwareVersion::new(
        parts[0] as u8,
        parts[1] as u8,
        parts[2] as u8,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_bad_ones_do_not() {
        assert_eq!(
            try_parse_version("250.1.0"),
            Some(FirmwareVersion::new(250, 1, 0))
        );
        assert_eq!(parse_version("0.1.0"), FirmwareVersion::new(0, 1, 0));
        for bad in [
            "", "1", "1.2", "1.2.3.4", "1..3", ".1.2", "1.2.", "256.0.0", "1.2.x", "0001.0.0",
            " 1.2.3",
        ] {
            assert_eq!(try_parse_version(bad), None, "{bad:?}");
        }
    }
}
