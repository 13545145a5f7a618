//! Single PEI lines: parsing never panics, and any line that parses to an event that can be
//! emitted re-emits, in either TSI form, to a line that parses to the same event.
#![no_main]

use borderlink_protocol::ids::TsiForm;
use borderlink_protocol::pei::{Event, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(event) = parse_line(text) else { return };
    let mut out = [0u8; 1200];
    for form in [TsiForm::Long, TsiForm::Short] {
        // Only free text (an echo, an unrecognised line, a maker, model or revision) may be
        // refused: a line break inside, or a leading `>`, cannot be one line again. Every
        // other parsed result re-emits.
        let n = match event.emit_with(form, &mut out) {
            Ok(n) => n,
            Err(e) => {
                assert!(
                    event.is_free_text(),
                    "{event:?} parsed from {text:?} but does not re-emit: {e:?}"
                );
                return;
            }
        };
        assert_eq!(event.buffer_len(form), Ok(n));
        let line = std::str::from_utf8(&out[..n]).expect("emitted lines are UTF-8");
        assert!(
            line.ends_with("\r\n") || matches!(event, Event::Prompt),
            "{line:?}"
        );
        assert_eq!(
            parse_line(line),
            Ok(event.clone()),
            "{text:?} re-emitted as {line:?}"
        );
    }
});
