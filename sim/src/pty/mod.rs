//! Pseudo-terminals standing in for serial ports: the daemon opens the slave by path, an
//! emulator (radio or board) holds the master.
//!
//! The real-time mode and the black-box tests put every emulated radio and board behind one,
//! so `borderlinkd` drives them through its real serial code. [`radio::PtyRadio`] is a radio
//! with its own pump thread and a fixed grant delay, for tests that need no SwMI; the board
//! equivalent is [`crate::board::pty::PtyBoard`].

pub mod radio;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::unistd::ttyname;

/// The emulator's end of a pty: reads wait at most a few milliseconds, so the pump thread
/// ticks even when the daemon is quiet.
#[derive(Debug)]
pub struct Master(File);

impl Master {
    /// Reads what the daemon wrote, waiting at most 5 ms; 0 when nothing came.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(5u8)) {
            Ok(n) if n > 0 => self.0.read(buf).unwrap_or(0),
            _ => 0,
        }
    }

    /// Reads what is there without waiting (after `poll` said so); 0 when nothing is.
    pub fn read_now(&mut self, buf: &mut [u8]) -> usize {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 => self.0.read(buf).unwrap_or(0),
            _ => 0,
        }
    }

    /// Makes writes fail at once instead of waiting when the daemon does not read (a dead
    /// daemon must not stall the simulator): use [`Master::try_write`] then.
    pub fn set_nonblocking(&self) -> std::io::Result<()> {
        let flags = fcntl(&self.0, FcntlArg::F_GETFL)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&self.0, FcntlArg::F_SETFL(flags))?;
        Ok(())
    }

    /// Writes what the line takes now; the rest is lost, as on a serial line nobody reads.
    /// Returns the bytes written.
    pub fn try_write(&mut self, bytes: &[u8]) -> usize {
        let mut done = 0;
        while done < bytes.len() {
            match self.0.write(&bytes[done..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        done
    }

    /// Writes to the daemon; an error when its end is closed.
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }
}

impl AsFd for Master {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A new pty: the master for the emulator, the slave's path for the daemon.
pub fn pty() -> (Master, String) {
    let pair = openpty(None, None).expect("pseudo-terminal pair");
    let path = ttyname(&pair.slave)
        .expect("slave name")
        .to_string_lossy()
        .into_owned();
    // The master must not leak into the daemon (spawned later by the test): a daemon holding
    // a copy would keep the pty alive, and pulling the cable would never reach its port.
    fcntl(&pair.master, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).expect("close-on-exec");
    // The daemon opens the slave by path; the master alone keeps the pair alive.
    drop(pair.slave);
    (Master(File::from(pair.master)), path)
}
