//! Short data the gateway sends to a unit: the acknowledgement or refusal of a cross-border
//! patch request, as a pre-coded status or a short text.
//!
//! A text sent with [`RadioSession::send_tracked_text`] goes as SDS-TL text messaging (0x82,
//! EN 300 392-2 §29.5.3) with a message reference and a request for a report on receipt; the
//! unit's (or the SwMI's) SDS-REPORT comes back as [`RadioOutput::DeliveryReport`], as does an
//! SDS-ACK or an SDS-SHORT REPORT (a status in 0x7C00–0x7FFF) quoting the reference.
//!
//! On the PEI this is two commands (EN 300 392-5 §6.13): `AT+CTSDS=<AI service>,<called party
//! type>` chooses status (13) or SDS type 4 (12) for the next message, then
//! `AT+CMGS=<to>,<bits>` carries the user data in hex, ended by Ctrl-Z. Both are written at
//! once, as [`Command::SendSds`](borderlink_protocol::pei::Command::SendSds) does; radios that
//! print the `> ` prompt first read the data that follows it all the same. The pair goes
//! through the session's one-command-at-a-time queue behind any call control, so a reply never
//! delays a transmit demand. A unit on the radio's own network is addressed by its SSI (type
//! 0), a visiting unit of the other network by its full TSI (type 1).

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{AiService, IdentityType};
use borderlink_protocol::sds::{
    Bits, DeliveryReportRequest, SdsTlText, Status, TextCoding, TextMessage, TransferHeader,
};
use borderlink_protocol::time::Instant;
use thiserror::Error;

use super::command::Op;
use super::output::{CommandError, RadioOutput};
use super::session::{LinkState, RadioSession};

/// Most user data the session sends in one SDS, in bytes: room for a text of
/// [`MAX_TEXT_LEN`] Latin-1 characters with its header bytes (four with SDS-TL).
pub const MAX_SDS_BYTES: usize = 64;

/// Longest text reply, in characters: one line on a terminal's display is about this long, and
/// the command line stays within the session's fixed buffer. The same for simple and SDS-TL
/// text, so a reply never depends on which one carries it.
pub const MAX_TEXT_LEN: usize = MAX_SDS_BYTES - 4;

/// Why an SDS was not queued for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SendError {
    /// The radio is not initialised; nothing can be sent now.
    #[error("radio not ready")]
    NotReady,
    /// The text is longer than [`MAX_TEXT_LEN`] characters.
    #[error("text of {0} characters is longer than {MAX_TEXT_LEN}")]
    TooLong(usize),
    /// The text has characters Latin-1 cannot carry.
    #[error("text is not Latin-1")]
    NotLatin1,
}

/// One SDS waiting in the command queue: addressee, length and user data, inline so the
/// queued [`Op`] stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutgoingSds {
    /// Addressee as written on the line.
    pub(crate) to: PeiIdentity,
    /// Addressee in full, for the report.
    pub(crate) tsi: Tsi,
    /// Length in bits.
    pub(crate) bits: u16,
    len: u8,
    buf: [u8; MAX_SDS_BYTES],
}

impl OutgoingSds {
    /// The user data.
    pub(crate) fn data(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl RadioSession {
    /// Queues a pre-coded status to `to` (a unit's ISSI). The outcome is reported as
    /// [`RadioOutput::SdsSent`].
    pub fn send_status(&mut self, now: Instant, to: Tsi, value: Status) -> Result<(), SendError> {
        let mut buf = [0u8; MAX_SDS_BYTES];
        let len = value.emit(&mut buf).map_err(|_| SendError::TooLong(0))?;
        self.queue_sds(now, to, AiService::Status, Status::BIT_LEN, &buf[..len])
    }

    /// Queues a short Latin-1 text (SDS type 4, simple text messaging) to `to`. The outcome is
    /// reported as [`RadioOutput::SdsSent`].
    pub fn send_text(&mut self, now: Instant, to: Tsi, text: &str) -> Result<(), SendError> {
        self.queue_text(now, to, text, None)
    }

    /// Queues a short Latin-1 text as SDS-TL text messaging with message reference
    /// `reference`, asking for a report on receipt. The radio's acceptance is reported as
    /// [`RadioOutput::SdsSent`], the unit's report later as [`RadioOutput::DeliveryReport`].
    pub fn send_tracked_text(
        &mut self,
        now: Instant,
        to: Tsi,
        text: &str,
        reference: u8,
    ) -> Result<(), SendError> {
        self.queue_text(now, to, text, Some(reference))
    }

    fn queue_text(
        &mut self,
        now: Instant,
        to: Tsi,
        text: &str,
        reference: Option<u8>,
    ) -> Result<(), SendError> {
        let count = text.chars().count();
        if count > MAX_TEXT_LEN {
            return Err(SendError::TooLong(count));
        }
        let latin1: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| SendError::NotLatin1))
            .collect::<Result<_, _>>()?;
        let message = match reference {
            None => TextMessage::latin1(&latin1),
            Some(reference) => Bits::from_bytes(&latin1).map(|text| TextMessage {
                immediate: false,
                sds_tl: Some(SdsTlText {
                    header: TransferHeader {
                        delivery_report: DeliveryReportRequest::Received,
                        ..TransferHeader::new(reference)
                    },
                    timestamp: None,
                }),
                coding: TextCoding::LATIN_1,
                text,
            }),
        }
        .ok_or(SendError::TooLong(count))?;
        let mut buf = [0u8; MAX_SDS_BYTES];
        let len = message
            .emit(&mut buf)
            .map_err(|_| SendError::TooLong(count))?;
        let bits = u16::try_from(message.bit_len()).map_err(|_| SendError::TooLong(count))?;
        self.queue_sds(now, to, AiService::SdsType4, bits, &buf[..len])
    }

    fn queue_sds(
        &mut self,
        now: Instant,
        to: Tsi,
        service: AiService,
        bits: u16,
        data: &[u8],
    ) -> Result<(), SendError> {
        if self.state != LinkState::Ready {
            return Err(SendError::NotReady);
        }
        let own = self.config.identity;
        // The radio's own network knows its units by SSI; a visiting unit needs its full TSI.
        let (addressee, called_type) = if to.mcc() == own.mcc() && to.mnc() == own.mnc() {
            (PeiIdentity::Ssi(to.ssi()), IdentityType::Ssi)
        } else {
            (PeiIdentity::Tsi(to), IdentityType::Tsi)
        };
        let mut buf = [0u8; MAX_SDS_BYTES];
        let len = data.len().min(MAX_SDS_BYTES);
        buf[..len].copy_from_slice(&data[..len]);
        self.queue.push_back(Op::SelectSds {
            service,
            called_type,
        });
        self.queue.push_back(Op::SendSds(OutgoingSds {
            to: addressee,
            tsi: to,
            bits,
            len: len as u8,
            buf,
        }));
        self.pump(now);
        Ok(())
    }

    /// The answer to `AT+CTSDS` or `AT+CMGS`. A refused `AT+CTSDS` withdraws its `AT+CMGS`,
    /// which would otherwise go out under whatever service was selected before.
    pub(super) fn sds_result(&mut self, op: Op, result: Result<(), CommandError>) {
        match (op, result) {
            (Op::SelectSds { .. }, Ok(())) => {}
            (Op::SelectSds { .. }, Err(error)) => {
                if let Some(at) = self.queue.iter().position(|q| matches!(q, Op::SendSds(_)))
                    && let Some(Op::SendSds(sds)) = self.queue.remove(at)
                {
                    self.emit(RadioOutput::SdsSent {
                        to: sds.tsi,
                        result: Err(error),
                    });
                }
            }
            (Op::SendSds(sds), result) => self.emit(RadioOutput::SdsSent {
                to: sds.tsi,
                result,
            }),
            _ => {}
        }
    }
}
