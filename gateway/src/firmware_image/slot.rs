//! Which flash slot an image is linked for, and which of a file's variants a board can take.
//!
//! The board executes in place from slot A or slot B, so a release is linked twice, once per
//! slot, and an update always goes to the slot the board is not running. A signed-image file
//! labels each image with its slot ([`ImageSlot`]); `choose` picks the one for the slot an
//! update writes, or refuses before anything is sent, because a wrong pick would verify,
//! commit, reboot, fail the bootloader's vector-table check and roll back.

use borderlink_protocol::link::Slot;

/// The slot an image in a signed-image file is linked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageSlot {
    /// Runs from either slot (position-independent, such as the simulator's test images, or
    /// a format-1 file that does not say).
    Any,
    /// Linked for slot A.
    A,
    /// Linked for slot B.
    B,
}

impl ImageSlot {
    /// The byte that stands for it in a format-2 file.
    pub const fn to_byte(self) -> u8 {
        match self {
            ImageSlot::Any => 0,
            ImageSlot::A => 1,
            ImageSlot::B => 2,
        }
    }

    /// The slot a format-2 byte stands for, if any.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(ImageSlot::Any),
            1 => Some(ImageSlot::A),
            2 => Some(ImageSlot::B),
            _ => None,
        }
    }

    /// Whether the image can run from `slot`.
    pub const fn runs_from(self, slot: Slot) -> bool {
        matches!(
            (self, slot),
            (ImageSlot::Any, _) | (ImageSlot::A, Slot::A) | (ImageSlot::B, Slot::B)
        )
    }

    /// The short name the tools and the API show: `A`, `B` or `any`.
    pub const fn name(self) -> &'static str {
        match self {
            ImageSlot::Any => "any",
            ImageSlot::A => "A",
            ImageSlot::B => "B",
        }
    }
}

impl From<Slot> for ImageSlot {
    fn from(slot: Slot) -> Self {
        match slot {
            Slot::A => ImageSlot::A,
            Slot::B => ImageSlot::B,
        }
    }
}

impl std::fmt::Display for ImageSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSlot::Any => f.pad("any slot"),
            ImageSlot::A => f.pad("slot A"),
            ImageSlot::B => f.pad("slot B"),
        }
    }
}

/// A file holds no image the board can take while it runs `running`.
///
/// Only one file shape gets here: a single variant linked for the running slot (an "any"
/// variant or one for the other slot would do, and two variants cover both slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the board runs {0} and this file holds only an image linked for {0}: flash a file with a slot-{1} image",
    ImageSlot::from(*.running),
    ImageSlot::from(.running.other()).name()
)]
pub struct WrongSlot {
    /// The slot the board runs.
    pub running: Slot,
}

/// The index into `slots` of the image to send to a board running from `running`: the one
/// linked for the other slot, or the one that runs from any slot.
pub(super) fn choose(slots: &[ImageSlot], running: Slot) -> Result<usize, WrongSlot> {
    let target = running.other();
    slots
        .iter()
        .position(|s| s.runs_from(target))
        .ok_or(WrongSlot { running })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_form_round_trips_and_refuses_other_bytes() {
        for slot in [ImageSlot::Any, ImageSlot::A, ImageSlot::B] {
            assert_eq!(ImageSlot::from_byte(slot.to_byte()), Some(slot));
        }
        assert_eq!(ImageSlot::from_byte(3), None);
        assert_eq!(ImageSlot::from_byte(0xff), None);
    }

    #[test]
    fn the_image_for_the_slot_not_running_is_chosen() {
        let both = [ImageSlot::A, ImageSlot::B];
        assert_eq!(choose(&both, Slot::A), Ok(1));
        assert_eq!(choose(&both, Slot::B), Ok(0));
        assert_eq!(choose(&[ImageSlot::Any], Slot::A), Ok(0));
        assert_eq!(choose(&[ImageSlot::Any], Slot::B), Ok(0));
        assert_eq!(choose(&[ImageSlot::B], Slot::A), Ok(0));
    }

    #[test]
    fn a_file_for_the_running_slot_only_is_refused_with_what_to_flash() {
        let err = choose(&[ImageSlot::B], Slot::B).unwrap_err();
        assert_eq!(err, WrongSlot { running: Slot::B });
        assert_eq!(
            err.to_string(),
            "the board runs slot B and this file holds only an image linked for slot B: flash a file with a slot-A image"
        );
        assert!(choose(&[ImageSlot::A], Slot::A).is_err());
    }
}
