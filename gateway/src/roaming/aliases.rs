//! The alias table: the call sign dispatch sees for a talker's ISSI ("BE-POL Turnhout 12"
//! rather than 02060000100120012).
//!
//! A talker's identity crosses the border with the audio, in the voice header; dispatch on the
//! other side knows the number but not the unit. The table is configuration (`[aliases]`),
//! read by the control API and by every roaming event that names a unit.

use std::collections::HashMap;

use borderlink_protocol::ids::Tsi;

/// ISSI → call sign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    by_tsi: HashMap<Tsi, String>,
}

impl Aliases {
    /// An empty table.
    pub fn new() -> Self {
        Aliases::default()
    }

    /// Sets the call sign of `tsi`; returns the one it replaces.
    pub fn insert(&mut self, tsi: Tsi, call_sign: impl Into<String>) -> Option<String> {
        self.by_tsi.insert(tsi, call_sign.into())
    }

    /// The call sign of `tsi`, if it has one.
    pub fn call_sign(&self, tsi: Tsi) -> Option<&str> {
        self.by_tsi.get(&tsi).map(String::as_str)
    }

    /// How a unit is shown: its call sign and identity, or the identity alone.
    pub fn label(&self, tsi: Tsi) -> String {
        match self.call_sign(tsi) {
            Some(name) => format!("{name} ({tsi})"),
            None => tsi.to_string(),
        }
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Tsi, &str)> + '_ {
        self.by_tsi.iter().map(|(t, n)| (*t, n.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_tsi.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_tsi.is_empty()
    }
}

impl FromIterator<(Tsi, String)> for Aliases {
    fn from_iter<I: IntoIterator<Item = (Tsi, String)>>(iter: I) -> Self {
        Aliases {
            by_tsi: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_shows_the_call_sign_with_the_identity() {
        let unit = Tsi::from_parts(206, 1, 120_012).unwrap();
        let stranger = Tsi::from_parts(204, 1, 7).unwrap();
        let mut aliases = Aliases::new();
        assert_eq!(aliases.insert(unit, "BE-POL 12"), None);
        assert_eq!(aliases.call_sign(unit), Some("BE-POL 12"));
        assert_eq!(aliases.label(unit), format!("BE-POL 12 ({unit})"));
        assert_eq!(aliases.call_sign(stranger), None);
        assert_eq!(aliases.label(stranger), stranger.to_string());
        assert_eq!(
            aliases.insert(unit, "BE-POL 13").as_deref(),
            Some("BE-POL 12")
        );
        assert_eq!(aliases.len(), 1);
    }
}
