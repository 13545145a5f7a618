//! The GSM 7-bit default alphabet and its extension table (ETSI TS 100 900 / 3GPP TS 23.038
//! §6.2.1), which text coding scheme 0 names. Written from the standard's character table.

/// The default alphabet, septet value to character. 0x1B is the escape to the extension
/// table; it is never shown itself.
pub(super) static DEFAULT: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet.
pub(super) const ESCAPE: u8 = 0x1b;

/// The character of `septet` after an escape. TS 23.038 says a receiver that does not know
/// an extension code shows the default alphabet's character instead.
pub(super) fn extension(septet: u8) -> char {
    match septet {
        0x0a => '\u{c}',
        0x14 => '^',
        0x28 => '{',
        0x29 => '}',
        0x2f => '\\',
        0x3c => '[',
        0x3d => '~',
        0x3e => ']',
        0x40 => '|',
        0x65 => '€',
        // A second escape leads to a further table nobody defines: show a space.
        ESCAPE => ' ',
        other => DEFAULT
            .get(usize::from(other))
            .copied()
            .unwrap_or('\u{fffd}'),
    }
}
