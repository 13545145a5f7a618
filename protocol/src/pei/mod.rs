//! The TETRA Peripheral Equipment Interface (PEI, ETSI EN 300 392-5): the AT-command serial
//! port through which borderlink's edge daemon drives each ASTRID and C2000 radio.
//!
//! The daemon's `radio` state machine selects a talkgroup, sets up a group call, demands and
//! ceases transmission and reads SDS and status messages; the simulator's radio emulator sits
//! on the other end of the same serial line. Both speak through this module:
//!
//! - [`Command`] builds the lines the gateway sends (`AT+CTGS=1,…`, `ATD…`, `AT+CTXD=…`, …)
//!   into a caller buffer, each ending in CR.
//! - [`PeiParser`] turns the radio's byte stream, in chunks of any size, into typed
//!   [`Event`]s: final results (`OK`, `ERROR`, `+CME ERROR`), unsolicited results (`+CTICN`,
//!   `+CTXG`, `+CTCR`, …), the SDS `> ` prompt, command echo, and received SDS with their user
//!   data already decoded from hex. It allocates nothing: lines are assembled in a fixed
//!   buffer whose size is a const parameter.
//! - [`parse_line`] parses one line on its own (for tests and for the CLI reading a
//!   transcript), and [`Event::emit`] writes the exact line(s) a radio would send, which the
//!   radio emulator uses and the round-trip tests rely on.
//!
//! Voice never crosses this port: it travels on the radio's accessory audio lines. Where the
//! syntax here comes from, and which choices are borderlink's own, is noted at each item;
//! `docs/wire.md` gathers the commands and results with examples.
//!
//! ## Error policy
//! The parser never stops the stream. A line whose result code borderlink does not know is an
//! [`Event::Unrecognised`]; a line whose result code it knows but whose parameters are wrong
//! (`+CTXG: x`) is an error naming the code, the parameter's index and name, and the line
//! number; overlong lines, bytes that are not UTF-8 and broken SDS data lines are errors too,
//! and parsing resumes at the next line.
//!
//! ```
//! use borderlink_protocol::pei::{Command, Event, PeiParser, TxGrant};
//! use borderlink_protocol::ids::{PeiIdentity, Ssi};
//!
//! let mut out = [0u8; 64];
//! let n = Command::Dial(PeiIdentity::Ssi(Ssi::new(2_040_551).unwrap())).emit(&mut out).unwrap();
//! assert_eq!(&out[..n], b"ATD2040551\r");
//!
//! let mut parser = PeiParser::<512>::new();
//! let mut input: &[u8] = b"+CTXG: 1,3,0,0,1,02040000102040123\r\nOK\r\n";
//! let mut grants = 0;
//! loop {
//!     let (used, event) = parser.push(input);
//!     input = &input[used..];
//!     match event {
//!         Some(Ok(Event::TxGranted(g))) => {
//!             assert_eq!(g.grant, TxGrant::GrantedToAnother);
//!             grants += 1;
//!         }
//!         Some(_) => {}
//!         None => break,
//!     }
//! }
//! assert_eq!(grants, 1);
//! ```

mod cause;
mod command;
mod error;
mod event;
mod line;
mod param;
mod parser;
mod sink;
mod user_data;

pub use cause::DisconnectCause;
pub use command::{CircuitService, Command, SdsSend, ServiceRoute};
pub use error::{EmitError, ErrorKind, FieldFault, PeiError, ResultCode, SdsDataFault};
pub use event::{
    CallConnected, CallReleased, CmeError, Event, GroupEntry, GroupList, IncomingCall, NumberEntry,
    Registration, SdsHeader, SdsReceived, SdsSendResult, SignalQuality, TxCeased, TxGranted,
    TxInterrupted, TxWait,
};
pub use line::parse_line;
pub use param::{
    AiMode, AiService, CallStatus, CommsType, Encryption, GroupType, Hook, IdentityType, NumType,
    RegistrationState, ServiceProfile, Simplex, TxDemandPriority, TxGrant, TxRequestPermission,
};
pub use parser::PeiParser;
pub use user_data::{MAX_USER_DATA_BITS, MAX_USER_DATA_BYTES, UserData};
