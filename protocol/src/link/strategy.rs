//! Proptest strategies for every link message, shared by the round-trip tests of the frame,
//! wire and decoder layers.
//!
//! Chunk data is leaked to get a `'static` borrow; a test run leaks a few hundred kilobytes at
//! most.

extern crate std;

use std::vec::Vec;

use proptest::prelude::*;
use proptest::strategy::Union;

use super::{
    AckResult, BoardInfo, Fault, FirmwareVersion, MAX_CHUNK, Message, NackReason, PORTS, Port,
    PortMask, PowerCutCause, ResetCause, Signature, Slot, Telemetry, UpdatePhase,
};

pub(crate) fn any_port() -> impl Strategy<Value = Port> {
    (0..PORTS as u8).prop_map(|n| Port::new(n).expect("in range"))
}

pub(crate) fn any_mask() -> impl Strategy<Value = PortMask> {
    (0..=PortMask::ALL.bits()).prop_map(|b| PortMask::from_bits(b).expect("in range"))
}

fn any_version() -> impl Strategy<Value = FirmwareVersion> {
    any::<(u8, u8, u8)>().prop_map(|(a, b, c)| FirmwareVersion::new(a, b, c))
}

fn any_slot() -> impl Strategy<Value = Slot> {
    prop_oneof![Just(Slot::A), Just(Slot::B)]
}

fn any_reset_cause() -> impl Strategy<Value = ResetCause> {
    prop_oneof![
        Just(ResetCause::PowerOn),
        Just(ResetCause::Brownout),
        Just(ResetCause::Pin),
        Just(ResetCause::Watchdog),
        Just(ResetCause::Software),
        Just(ResetCause::LowPower),
        Just(ResetCause::Unknown),
    ]
}

fn any_nack_reason() -> impl Strategy<Value = NackReason> {
    Union::new([
        Just(NackReason::Malformed).boxed(),
        any::<u8>()
            .prop_map(|supported| NackReason::UnsupportedVersion { supported })
            .boxed(),
        Just(NackReason::NotACommand).boxed(),
        Just(NackReason::NoSession).boxed(),
        any::<u8>()
            .prop_map(|port| NackReason::NoSuchPort { port })
            .boxed(),
        Just(NackReason::PoweredOff).boxed(),
        Just(NackReason::TxCapLockout).boxed(),
        any::<u16>()
            .prop_map(|retry_after_s| NackReason::RateLimited { retry_after_s })
            .boxed(),
        Just(NackReason::Busy).boxed(),
        Just(NackReason::UpdateInProgress).boxed(),
        Just(NackReason::NoUpdate).boxed(),
        any::<u32>()
            .prop_map(|max| NackReason::ImageTooLarge { max })
            .boxed(),
        any::<u32>()
            .prop_map(|expected| NackReason::OutOfOrder { expected })
            .boxed(),
        Just(NackReason::ChunkOutOfBounds).boxed(),
        Just(NackReason::ChunkTooLong).boxed(),
        any::<u32>()
            .prop_map(|received| NackReason::Incomplete { received })
            .boxed(),
        any::<u32>()
            .prop_map(|computed| NackReason::CrcMismatch { computed })
            .boxed(),
        Just(NackReason::BadSignature).boxed(),
        Just(NackReason::NotVerified).boxed(),
        Just(NackReason::Flash).boxed(),
        any::<u32>()
            .prop_map(|floor| NackReason::Rollback { floor })
            .boxed(),
    ])
}

fn any_ack_result() -> impl Strategy<Value = AckResult> {
    prop_oneof![
        Just(AckResult::Ok),
        any_nack_reason().prop_map(AckResult::Nack)
    ]
}

fn any_fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        any_mask().prop_map(|dropped| Fault::HostSilence { dropped }),
        any_port().prop_map(|port| Fault::TxCapReached { port }),
        any_port().prop_map(|port| Fault::PowerCycleRateLimited { port }),
        any::<(u16, u16, u16, u16)>().prop_map(|(crc, framing, version, body)| {
            Fault::LinkErrors {
                crc,
                framing,
                version,
                body,
            }
        }),
        (any_port(), 0..3u8).prop_map(|(port, cause)| Fault::RadioPowerCut {
            port,
            cause: match cause {
                0 => PowerCutCause::HostSilence,
                1 => PowerCutCause::TxCap,
                _ => PowerCutCause::NewSession,
            },
        }),
    ]
}

fn any_phase() -> impl Strategy<Value = UpdatePhase> {
    prop_oneof![
        Just(UpdatePhase::Idle),
        Just(UpdatePhase::Receiving),
        Just(UpdatePhase::Verified),
        Just(UpdatePhase::Trial)
    ]
}

/// Chunk data biased towards the shapes COBS cares about: zeros, long runs without zeros, and
/// the full chunk size.
fn any_chunk_data() -> impl Strategy<Value = &'static [u8]> {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=MAX_CHUNK),
        proptest::collection::vec(1..=u8::MAX, 250..=MAX_CHUNK),
        proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFF)], 0..=MAX_CHUNK),
        Just(Vec::from([0xFF; MAX_CHUNK])),
    ];
    bytes.prop_map(|v: Vec<u8>| &*v.leak())
}

fn any_telemetry() -> impl Strategy<Value = Telemetry> {
    (
        any::<u32>(),
        any_reset_cause(),
        any_version(),
        any_slot(),
        any::<[u32; PORTS]>(),
        any::<u32>(),
    )
        .prop_map(
            |(uptime_s, reset_cause, firmware, slot, ptt_seconds, link_errors)| Telemetry {
                uptime_s,
                reset_cause,
                firmware,
                slot,
                ptt_seconds,
                link_errors,
            },
        )
}

fn any_board_info() -> impl Strategy<Value = BoardInfo> {
    (
        any_version(),
        any_slot(),
        any::<u8>(),
        any::<u16>(),
        any::<u8>(),
        any_mask(),
        any_mask(),
    )
        .prop_map(
            |(firmware, slot, ports, max_chunk, window, ptt_active_low, cor_active_low)| {
                BoardInfo {
                    firmware,
                    slot,
                    ports,
                    max_chunk,
                    window,
                    ptt_active_low,
                    cor_active_low,
                }
            },
        )
}

/// Any valid message, every variant equally likely.
pub(crate) fn any_message() -> impl Strategy<Value = Message<'static>> {
    Union::new([
        Just(Message::Hello).boxed(),
        Just(Message::Heartbeat).boxed(),
        (any_port(), any::<bool>())
            .prop_map(|(port, keyed)| Message::SetPtt { port, keyed })
            .boxed(),
        any_port().prop_map(|port| Message::GetPtt { port }).boxed(),
        (any_port(), any::<bool>())
            .prop_map(|(port, on)| Message::SetPower { port, on })
            .boxed(),
        (any_port(), any::<u16>())
            .prop_map(|(port, off_ms)| Message::PowerCycle { port, off_ms })
            .boxed(),
        Just(Message::GetTelemetry).boxed(),
        (any::<u32>(), any::<u32>(), any_version())
            .prop_map(|(size, crc32, version)| Message::UpdateBegin {
                size,
                crc32,
                version,
            })
            .boxed(),
        (any::<u32>(), any_chunk_data())
            .prop_map(|(offset, data)| Message::UpdateChunk { offset, data })
            .boxed(),
        any::<([u8; 32], [u8; 32])>()
            .prop_map(|(r, s)| Message::UpdateVerify {
                signature: Signature { r, s },
            })
            .boxed(),
        Just(Message::UpdateCommit).boxed(),
        Just(Message::UpdateAbort).boxed(),
        Just(Message::GetUpdateStatus).boxed(),
        (any::<u16>(), any_ack_result())
            .prop_map(|(seq, result)| Message::Ack { seq, result })
            .boxed(),
        any_board_info().prop_map(Message::BoardInfo).boxed(),
        (any_mask(), any_mask(), any_mask())
            .prop_map(|(ptt, cor, power)| Message::Status { ptt, cor, power })
            .boxed(),
        (any_port(), any::<bool>())
            .prop_map(|(port, keyed)| Message::PttState { port, keyed })
            .boxed(),
        (any_port(), any::<bool>())
            .prop_map(|(port, active)| Message::CorChanged { port, active })
            .boxed(),
        any_telemetry().prop_map(Message::Telemetry).boxed(),
        any_fault().prop_map(Message::Fault).boxed(),
        (any_phase(), any::<u32>(), any::<u32>())
            .prop_map(|(phase, received, size)| Message::UpdateStatus {
                phase,
                received,
                size,
            })
            .boxed(),
        (
            any::<u32>(),
            any::<u32>(),
            any_version(),
            any::<Option<u32>>(),
            any::<bool>(),
        )
            .prop_map(|(size, crc32, version, security_version, allow_rollback)| {
                Message::UpdateBeginSecure {
                    size,
                    crc32,
                    version,
                    security_version,
                    allow_rollback,
                }
            })
            .boxed(),
        (any_port(), any::<bool>())
            .prop_map(|(port, keyed)| Message::PeiKeyed { port, keyed })
            .boxed(),
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use super::*;

    /// The round-trip tests are only as good as this strategy: it must reach every variant.
    #[test]
    fn strategy_reaches_every_message_variant() {
        let mut runner = TestRunner::deterministic();
        let strategy = any_message();
        let mut seen = BTreeSet::new();
        for _ in 0..2_000 {
            let message = strategy.new_tree(&mut runner).unwrap().current();
            seen.insert(message.name());
        }
        assert_eq!(seen.len(), 23, "{seen:?}");
    }
}
