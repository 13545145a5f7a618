//! A minimal client for QEMU's machine protocol (QMP): JSON commands over a unix socket, one
//! reply line each, with asynchronous events interleaved (skipped here).
//!
//! It is how `cargo xtask qemu` watches the emulated board from outside the image: the human
//! monitor's `xp` command, sent through QMP, reads a physical address, device registers
//! included, without the image taking part.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// How long one command may take to be answered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A QMP session, past the capabilities handshake.
pub(crate) struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// The names of the asynchronous events seen so far (`RESET`, `STOP`, ...), in order.
    events: Vec<String>,
}

impl Qmp {
    /// Opens the session on a connected socket.
    pub(crate) fn open(stream: UnixStream) -> anyhow::Result<Self> {
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            bail!("QEMU's monitor did not greet as QMP: {greeting}");
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    /// Runs a command and returns its result.
    pub(crate) fn execute(&mut self, command: &str, arguments: Value) -> anyhow::Result<Value> {
        let request = json!({ "execute": command, "arguments": arguments });
        writeln!(self.writer, "{request}").context("writing to QEMU's monitor")?;
        loop {
            let reply = self.read_message()?;
            if let Some(result) = reply.get("return") {
                return Ok(result.clone());
            }
            if let Some(error) = reply.get("error") {
                bail!("QEMU refused `{command}`: {error}");
            }
            // Anything else is an event (e.g. STOP, RESET): not an answer, but kept.
            if let Some(event) = reply.get("event").and_then(Value::as_str) {
                self.events.push(event.to_owned());
            }
        }
    }

    /// How many `name` events QEMU has sent so far. QEMU sends events in order with replies,
    /// so one that happened before this call is counted.
    pub(crate) fn count_events(&mut self, name: &str) -> anyhow::Result<usize> {
        self.execute("query-status", json!({}))?;
        Ok(self.events.iter().filter(|e| *e == name).count())
    }

    /// Waits until QEMU has sent `count` `name` events in all, polling until `timeout`.
    pub(crate) fn wait_events(
        &mut self,
        name: &str,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let seen = self.count_events(name)?;
            if seen >= count {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("QEMU reported {seen} {name} events within {timeout:?}, not {count}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs a human-monitor command and returns what it printed.
    pub(crate) fn human(&mut self, command_line: &str) -> anyhow::Result<String> {
        let result = self.execute(
            "human-monitor-command",
            json!({ "command-line": command_line }),
        )?;
        result
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("`{command_line}` returned no text: {result}"))
    }

    /// Reads `count` 32-bit words of physical memory (or device registers) from `address`.
    pub(crate) fn read_words(&mut self, address: u32, count: usize) -> anyhow::Result<Vec<u32>> {
        let text = self.human(&format!("xp /{count}wx {address:#x}"))?;
        let words = parse_xp(&text).with_context(|| format!("unexpected `xp` output: {text:?}"))?;
        if words.len() != count {
            bail!("`xp` gave {} words, not {count}: {text:?}", words.len());
        }
        Ok(words)
    }

    /// Reads `count` 32-bit words as the CPU sees its address space (the system control
    /// block's registers included, which `xp` does not reach).
    pub(crate) fn read_cpu_words(
        &mut self,
        address: u32,
        count: usize,
    ) -> anyhow::Result<Vec<u32>> {
        let text = self.human(&format!("x /{count}wx {address:#x}"))?;
        let words = parse_xp(&text).with_context(|| format!("unexpected `x` output: {text:?}"))?;
        if words.len() != count {
            bail!("`x` gave {} words, not {count}: {text:?}", words.len());
        }
        Ok(words)
    }

    /// Reads one 32-bit word.
    pub(crate) fn read_word(&mut self, address: u32) -> anyhow::Result<u32> {
        Ok(self.read_words(address, 1)?[0])
    }

    fn read_message(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .context("reading QEMU's monitor (no answer within 5 s)")?;
        if n == 0 {
            bail!("QEMU closed its monitor socket (did it exit?)");
        }
        serde_json::from_str(&line).with_context(|| format!("QEMU's monitor sent {line:?}"))
    }
}

/// Connects to a unix socket QEMU is about to create, retrying until `timeout`.
pub(crate) fn connect(path: &Path, timeout: Duration) -> anyhow::Result<UnixStream> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match UnixStream::connect(path) {
            Ok(stream) => return Ok(stream),
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("QEMU did not open {} within {timeout:?}", path.display())
                });
            }
        }
    }
}

/// The words of `xp /Nwx` output: lines of `address: 0x........ 0x........ ...`.
fn parse_xp(text: &str) -> Option<Vec<u32>> {
    let mut words = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (_, values) = line.split_once(':')?;
        for value in values.split_whitespace() {
            words.push(u32::from_str_radix(value.strip_prefix("0x")?, 16).ok()?);
        }
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::parse_xp;

    #[test]
    fn xp_output_parses_one_and_many_words() {
        assert_eq!(
            parse_xp("000000004002f004: 0x000000f1\r\n"),
            Some(vec![0xf1])
        );
        let many = "0000000020000000: 0xcccccccc 0xcccccccc 0x00000001 0x20000ff0\r\n\
                    0000000020000010: 0x00000000\r\n";
        assert_eq!(
            parse_xp(many),
            Some(vec![0xcccc_cccc, 0xcccc_cccc, 1, 0x2000_0ff0, 0])
        );
        assert_eq!(parse_xp("Cannot access memory\r\n"), None);
    }
}
