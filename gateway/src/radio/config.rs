//! What a [`RadioSession`](super::RadioSession) needs to know about its radio, and the timers
//! that pace it.

use borderlink_protocol::ids::{Tsi, TsiForm};
use borderlink_protocol::time::Duration;
use thiserror::Error;

/// Most retries of one command the session accepts; more would only delay noticing a dead
/// radio.
pub const MAX_RETRIES: u8 = 10;

/// Settings of one radio's PEI session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadioSessionConfig {
    /// The radio's expected individual identity (ITSI). `AT+CNUMF?` must report it, or the
    /// radio is not used; its MCC and MNC also complete the bare SSIs the radio prints.
    pub identity: Tsi,
    /// The talkgroup selected at initialisation (`AT+CTGS=1,<group>`).
    pub group: Tsi,
    /// How this radio prints and reads full TSIs (17 or 16 digits).
    pub tsi_form: TsiForm,
    /// How long a command may wait for its final result before it is sent again.
    pub command_timeout: Duration,
    /// How many times a command that got no answer is sent again before the radio is
    /// declared down.
    pub command_retries: u8,
    /// Wait before the first re-initialisation after a failure; doubles on each failure.
    pub backoff_initial: Duration,
    /// Longest wait between re-initialisations; also the wait after an identity mismatch.
    pub backoff_max: Duration,
    /// How often signal quality is asked for (`AT+CSQ?`); the query doubles as a liveness
    /// check.
    pub signal_interval: Duration,
    /// Longest time from a key request to the transmit grant, call set-up and queueing
    /// included; past it the demand is withdrawn and refused.
    pub grant_wait: Duration,
    /// The continuous air-time cap across overs and the forced gap after it (the engine's, kept
    /// by the session too as a backstop).
    pub air_time: crate::engine::radio_tx::AirTimeLimit,
    /// Prefixes of vendor lines a radio prints when it starts up; such a line means the radio
    /// rebooted and lost its settings. Empty by default: a reboot is also recognised by
    /// command echo coming back (V.250 resets to `ATE1`) and by commands going unanswered.
    pub reboot_banners: Vec<String>,
    /// Which optional commands the radio is initialised and watched with.
    pub profile: super::profile::PeiProfile,
}

impl RadioSessionConfig {
    /// A radio with the defaults a site rarely changes: 2 s command timeout, 2 retries,
    /// re-initialisation backoff 1 s doubling to 30 s, signal quality every 10 s, 5 s grant
    /// wait, 17-digit TSIs.
    pub fn new(identity: Tsi, group: Tsi) -> Self {
        RadioSessionConfig {
            identity,
            group,
            tsi_form: TsiForm::Long,
            command_timeout: Duration::from_secs(2),
            command_retries: 2,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            signal_interval: Duration::from_secs(10),
            grant_wait: Duration::from_secs(5),
            air_time: crate::engine::radio_tx::AirTimeLimit::default(),
            reboot_banners: Vec::new(),
            profile: super::profile::PeiProfile::STANDARD,
        }
    }

    /// Checks the settings, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("command_timeout", self.command_timeout),
            ("backoff_initial", self.backoff_initial),
            ("signal_interval", self.signal_interval),
            ("grant_wait", self.grant_wait),
            ("air_time.max_continuous", self.air_time.max_continuous),
            ("air_time.forced_gap", self.air_time.forced_gap),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, d)| *d == Duration::ZERO) {
            return Err(ConfigError::Zero(key));
        }
        if self.backoff_max < self.backoff_initial {
            return Err(ConfigError::BackoffOrder {
                initial: self.backoff_initial,
                max: self.backoff_max,
            });
        }
        if self.command_retries > MAX_RETRIES {
            return Err(ConfigError::TooManyRetries(self.command_retries));
        }
        if let Some(index) = self.reboot_banners.iter().position(String::is_empty) {
            return Err(ConfigError::EmptyBanner { index });
        }
        if self.profile.extra.len() > super::profile::MAX_EXTRA {
            return Err(ConfigError::TooManyExtra(self.profile.extra.len()));
        }
        for (index, command) in self.profile.extra.iter().enumerate() {
            super::profile::PeiProfile::check_extra(command)
                .map_err(|why| ConfigError::BadExtra { index, why })?;
        }
        Ok(())
    }
}

/// A radio session setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A duration that must be positive is zero.
    #[error("radio setting `{0}` must be longer than zero")]
    Zero(&'static str),
    /// The backoff ceiling is below its start.
    #[error("radio setting `backoff_max` ({max}) is shorter than `backoff_initial` ({initial})")]
    BackoffOrder {
        /// `backoff_initial`.
        initial: Duration,
        /// `backoff_max`.
        max: Duration,
    },
    /// More retries than [`MAX_RETRIES`].
    #[error("radio setting `command_retries` = {0} is more than the supported {MAX_RETRIES}")]
    TooManyRetries(u8),
    /// An empty reboot banner would match every line.
    #[error("radio setting `reboot_banners[{index}]` is empty and would match every line")]
    EmptyBanner {
        /// Index in the list.
        index: usize,
    },
    /// More vendor commands than [`MAX_EXTRA`](super::profile::MAX_EXTRA).
    #[error("radio setting `pei.extra` has {0} commands, at most 16 are sent")]
    TooManyExtra(usize),
    /// A vendor command that cannot be sent as one command line.
    #[error("radio setting `pei.extra[{index}]`: {why}")]
    BadExtra {
        /// Index in the list.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
}
