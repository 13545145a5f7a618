//! RFC 8285 header-extension elements: iterating the one-byte (profile 0xBEDE) and two-byte
//! (profile 0x100x) forms, and writing the one-byte form.
//!
//! Receivers must accept both forms (RFC 8285 §4); borderlink sends the one-byte form because
//! every element it carries fits in 16 bytes. Padding bytes (0x00) may sit between elements;
//! ID 15 in the one-byte form ends processing; unknown IDs are skipped, so a newer sender can
//! add elements without breaking an older receiver.

use super::VoiceError;

/// Profile value of the one-byte element form.
pub const PROFILE_ONE_BYTE: u16 = 0xBEDE;
/// Profile value of the two-byte element form (the low 4 bits are "appbits").
pub const PROFILE_TWO_BYTE: u16 = 0x1000;

/// One element: its local ID, its data, and the data's offset within the extension block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// Local identifier (1–14 one-byte, 1–255 two-byte).
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
    /// Offset of the element's first header byte within the extension data.
    pub offset: usize,
}

/// Iterator over the elements of an extension block; yields an error once and then stops.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    data: &'a [u8],
    pos: usize,
    two_byte: bool,
    done: bool,
}

impl<'a> Elements<'a> {
    /// Iterates `data` (the bytes after the profile/length words) for the given profile.
    pub fn new(profile: u16, data: &'a [u8]) -> Result<Self, VoiceError> {
        let two_byte = if profile == PROFILE_ONE_BYTE {
            false
        } else if profile & 0xfff0 == PROFILE_TWO_BYTE {
            true
        } else {
            return Err(VoiceError::ExtensionProfile { profile });
        };
        Ok(Elements {
            data,
            pos: 0,
            two_byte,
            done: false,
        })
    }

    fn fail(&mut self, err: VoiceError) -> Option<Result<Element<'a>, VoiceError>> {
        self.done = true;
        Some(Err(err))
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, VoiceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let offset = self.pos;
            let Some(&first) = self.data.get(offset) else {
                self.done = true;
                return None;
            };
            if first == 0 {
                self.pos += 1;
                continue;
            }
            let (id, len, header) = if self.two_byte {
                let Some(&len) = self.data.get(offset + 1) else {
                    return self.fail(VoiceError::Extension { offset });
                };
                (first, usize::from(len), 2)
            } else {
                let id = first >> 4;
                if id == 15 {
                    self.done = true;
                    return None;
                }
                // A zero ID with a non-zero length is neither padding nor an element.
                if id == 0 {
                    return self.fail(VoiceError::Extension { offset });
                }
                (id, usize::from(first & 0x0f) + 1, 1)
            };
            let start = offset + header;
            let Some(data) = self.data.get(start..start + len) else {
                return self.fail(VoiceError::Extension { offset });
            };
            self.pos = start + len;
            return Some(Ok(Element { id, data, offset }));
        }
    }
}

/// Writes one-byte-form elements into a buffer.
#[derive(Debug)]
pub struct ElementWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> ElementWriter<'b> {
    /// Writes into `buf`, which the caller has sized with [`one_byte_len`].
    pub fn new(buf: &'b mut [u8]) -> Self {
        ElementWriter { buf, pos: 0 }
    }

    /// Appends an element; `id` must be 1–14 and `data` 1–16 bytes (callers pass constants).
    pub fn push(&mut self, id: u8, data: &[u8]) {
        debug_assert!((1..=14).contains(&id) && (1..=16).contains(&data.len()));
        self.buf[self.pos] = (id << 4) | ((data.len() - 1) as u8);
        self.buf[self.pos + 1..self.pos + 1 + data.len()].copy_from_slice(data);
        self.pos += 1 + data.len();
    }

    /// Zero-fills up to the end of the buffer (RFC 8285 padding) and returns the bytes written.
    pub fn finish(self) -> usize {
        self.buf[self.pos..].fill(0);
        self.buf.len()
    }
}

/// Size of a one-byte-form block holding elements of these data lengths, padded to 32 bits.
pub(super) const fn one_byte_len(data_lens: &[usize]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < data_lens.len() {
        total += 1 + data_lens[i];
        i += 1;
    }
    total.div_ceil(4) * 4
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::{vec, vec::Vec};

    fn collect(profile: u16, data: &[u8]) -> Vec<Result<(u8, Vec<u8>), VoiceError>> {
        Elements::new(profile, data)
            .unwrap()
            .map(|e| e.map(|e| (e.id, e.data.to_vec())))
            .collect()
    }

    #[test]
    fn one_byte_form_with_padding() {
        let data = [0x10, 0xaa, 0x00, 0x00, 0x21, 0x01, 0x02, 0x00];
        assert_eq!(
            collect(PROFILE_ONE_BYTE, &data),
            [Ok((1, vec![0xaa])), Ok((2, vec![1, 2]))]
        );
    }

    #[test]
    fn id_fifteen_stops_processing() {
        let data = [0x10, 0xaa, 0xf3, 0x20, 0x01, 0x00, 0x00, 0x00];
        assert_eq!(collect(PROFILE_ONE_BYTE, &data), [Ok((1, vec![0xaa]))]);
    }

    #[test]
    fn zero_id_with_length_is_rejected() {
        let data = [0x10, 0xaa, 0x03, 0, 0, 0, 0, 0];
        assert_eq!(
            collect(PROFILE_ONE_BYTE, &data),
            [
                Ok((1, vec![0xaa])),
                Err(VoiceError::Extension { offset: 2 })
            ]
        );
    }

    #[test]
    fn element_running_past_the_block_is_rejected() {
        let data = [0x1f, 0xaa, 0xbb, 0xcc];
        assert_eq!(
            collect(PROFILE_ONE_BYTE, &data),
            [Err(VoiceError::Extension { offset: 0 })]
        );
    }

    #[test]
    fn two_byte_form() {
        let data = [0x00, 0x07, 0x02, 0xaa, 0xbb, 0x09, 0x00, 0x00];
        assert_eq!(
            collect(0x1003, &data),
            [Ok((7, vec![0xaa, 0xbb])), Ok((9, vec![]))]
        );
    }

    #[test]
    fn other_profiles_are_not_rfc8285() {
        assert_eq!(
            Elements::new(0x1234, &[]).err(),
            Some(VoiceError::ExtensionProfile { profile: 0x1234 })
        );
    }

    #[test]
    fn writer_pads_to_words() {
        assert_eq!(one_byte_len(&[1, 6]), 12);
        let mut buf = [0xa5u8; 12];
        let mut w = ElementWriter::new(&mut buf);
        w.push(1, &[0x42]);
        w.push(2, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(w.finish(), 12);
        assert_eq!(buf, [0x10, 0x42, 0x25, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
    }
}
