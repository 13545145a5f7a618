//! Writing PEI text into caller buffers without allocating.
//!
//! Every command and event is written through [`core::fmt::Write`] twice: once into a
//! counter, to learn its length and refuse a short buffer before touching it, then into the
//! buffer. Parameters are written through [`Params`], which leaves empty optional parameters
//! out at the end of a line and as bare commas in its middle, the way radios print them.

use core::fmt::{self, Display, Write};

use crate::ids::{PeiIdentity, TsiForm};

use super::error::EmitError;

/// Counts the bytes that would be written.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Writes into a byte slice, failing instead of overflowing.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.pos.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.pos = end;
        Ok(())
    }
}

/// Length of what `write` produces.
pub(crate) fn measure(write: impl Fn(&mut dyn Write) -> fmt::Result) -> usize {
    let mut counter = Counter(0);
    // Counting never fails; a formatting error could only come from `write` itself, and then
    // the emit below reports it as a short buffer.
    let _ = write(&mut counter);
    counter.0
}

/// Runs `write` into `out`, or reports how much room it needs.
pub(crate) fn emit_into(
    out: &mut [u8],
    write: impl Fn(&mut dyn Write) -> fmt::Result,
) -> Result<usize, EmitError> {
    let needed = measure(&write);
    if needed > out.len() {
        return Err(EmitError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let available = out.len();
    let mut w = SliceWriter { buf: out, pos: 0 };
    write(&mut w).map_err(|_| EmitError::BufferTooSmall { needed, available })?;
    Ok(w.pos)
}

/// An identity printed in PEI digits, a TSI in the chosen form.
#[derive(Clone, Copy)]
pub(crate) struct Digits(pub(crate) PeiIdentity, pub(crate) TsiForm);

impl Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            PeiIdentity::Tsi(t) => t.pei(self.1).fmt(f),
            PeiIdentity::Ssi(s) => s.fmt(f),
        }
    }
}

/// Comma-separated parameters of one command or result line.
pub(crate) struct Params<'w> {
    w: &'w mut dyn Write,
    written: usize,
    empty: usize,
}

impl<'w> Params<'w> {
    /// Starts a parameter list; the caller has written the prefix (`+CTXG: `, `AT+CTSDC=`).
    pub(crate) fn new(w: &'w mut dyn Write) -> Self {
        Params {
            w,
            written: 0,
            empty: 0,
        }
    }

    /// A present parameter.
    pub(crate) fn put(&mut self, value: impl Display) -> fmt::Result {
        // Empty parameters before this one become bare commas; trailing ones never print.
        while self.empty > 0 {
            if self.written > 0 {
                self.w.write_char(',')?;
            }
            self.written += 1;
            self.empty -= 1;
        }
        if self.written > 0 {
            self.w.write_char(',')?;
        }
        self.written += 1;
        write!(self.w, "{value}")
    }

    /// An optional parameter.
    pub(crate) fn opt(&mut self, value: Option<impl Display>) -> fmt::Result {
        match value {
            Some(v) => self.put(v),
            None => {
                self.empty += 1;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buffer_is_refused_untouched() {
        let mut out = [0xa5u8; 4];
        let r = emit_into(&mut out, |w| w.write_str("AT+CSQ?\r"));
        assert_eq!(
            r,
            Err(EmitError::BufferTooSmall {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(out, [0xa5; 4]);
    }

    #[test]
    fn empty_parameters_print_only_between_present_ones() {
        let mut out = [0xa5u8; 16];
        let n = emit_into(&mut out, |w| {
            let mut p = Params::new(w);
            p.put(1)?;
            p.opt(None::<u8>)?;
            p.put(3)?;
            p.opt(None::<u8>)?;
            p.opt(None::<u8>)
        })
        .unwrap();
        assert_eq!(&out[..n], b"1,,3");
        assert_eq!(out[n], 0xa5);
    }

    #[test]
    fn leading_empty_parameter_prints_as_empty() {
        let mut out = [0u8; 8];
        let n = emit_into(&mut out, |w| {
            let mut p = Params::new(w);
            p.opt(None::<u8>)?;
            p.put(7)
        })
        .unwrap();
        assert_eq!(&out[..n], b",7");
    }
}
