//! The PEI byte stream: arbitrary bytes never panic the parser, how they are split into chunks
//! never changes the events it reports, and every event it reports re-emits to bytes that a
//! fresh parser reads back as the same event.
#![no_main]

use borderlink_protocol::pei::PeiParser;
use libfuzzer_sys::fuzz_target;

/// Feeds `input` in chunks of the given sizes (cycled) and records every event and error.
fn events(input: &[u8], sizes: &[usize]) -> Vec<String> {
    let mut parser = PeiParser::<512>::new();
    let mut seen = Vec::new();
    let mut rest = input;
    let mut turn = 0;
    while !rest.is_empty() {
        let n = sizes[turn % sizes.len()].clamp(1, rest.len());
        turn += 1;
        let mut chunk = &rest[..n];
        rest = &rest[n..];
        loop {
            let (used, event) = parser.push(chunk);
            chunk = &chunk[used..];
            match event {
                Some(e) => seen.push(format!("{e:?}")),
                None => break,
            }
        }
        assert!(chunk.is_empty(), "push returned None with input left");
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let whole = events(data, &[data.len().max(1)]);
    assert_eq!(
        events(data, &[1]),
        whole,
        "byte-by-byte feeding changed the events"
    );
    let a = 1 + usize::from(data.first().copied().unwrap_or(0) % 31);
    let b = 1 + usize::from(data.last().copied().unwrap_or(0) % 17);
    assert_eq!(
        events(data, &[a, b]),
        whole,
        "chunks of {a} and {b} changed the events"
    );

    // Every event re-emits to bytes that parse back to it on their own.
    let mut parser = PeiParser::<512>::new();
    let mut rest = data;
    let mut out = [0u8; 1200];
    loop {
        let (used, event) = parser.push(rest);
        rest = &rest[used..];
        let Some(result) = event else { break };
        let Ok(event) = result else { continue };
        // Only free text may be refused (an echo, an unrecognised line, a maker, model or
        // revision, e.g. one starting with `>`); every other result re-emits.
        let n = match event.emit(&mut out) {
            Ok(n) => n,
            Err(e) => {
                assert!(
                    event.is_free_text(),
                    "{event:?} does not re-emit: {e:?}"
                );
                continue;
            }
        };
        let again = events(&out[..n], &[n.max(1)]);
        assert_eq!(
            again,
            [format!("{:?}", Ok::<_, ()>(&event))],
            "{:?}",
            &out[..n]
        );
    }
});
