//! Text → QMP `send-key` chords for a US keyboard layout: a table of every printable ASCII character.

use std::fmt;

/// One key press as QMP `send-key` takes it: the key's QKeyCode name, with Shift held around it or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chord {
    pub shift: bool,
    /// A QKeyCode name from QEMU's QAPI schema (`a`, `1`, `spc`, `equal`, `ret`, …).
    pub key: &'static str,
}

/// Keys a boot sequence presses that are not text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Enter,
    Tab,
    Escape,
    /// Shift pressed and released alone.
    Shift,
}

/// A character the keymap cannot type, and where it is in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untypable {
    pub character: char,
    /// Its position in the text, counted in characters from 0.
    pub position: usize,
}

impl fmt::Display for Untypable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot type {:?} (character {}): the keymap has printable ASCII only",
            self.character,
            self.position + 1
        )
    }
}

impl std::error::Error for Untypable {}

impl Key {
    pub fn chord(self) -> Chord {
        let key = match self {
            Key::Enter => "ret",
            Key::Tab => "tab",
            Key::Escape => "esc",
            Key::Shift => "shift",
        };
        Chord { shift: false, key }
    }
}

impl Chord {
    /// The QKeyCode names pressed together, in press order (Shift first).
    pub fn keys(&self) -> Vec<&'static str> {
        if self.shift {
            vec!["shift", self.key]
        } else {
            vec![self.key]
        }
    }
}

/// The chord that types `c` on a US layout, or `None` for anything but printable ASCII.
pub fn chord(c: char) -> Option<Chord> {
    if let Some(key) = letter(c.to_ascii_lowercase()) {
        return Some(Chord {
            shift: c.is_ascii_uppercase(),
            key,
        });
    }
    SYMBOLS
        .iter()
        .find(|(symbol, _)| *symbol == c)
        .map(|&(_, chord)| chord)
}

/// The chords that type `text`, or the first character that cannot be typed.
pub fn chords(text: &str) -> Result<Vec<Chord>, Untypable> {
    text.chars()
        .enumerate()
        .map(|(position, character)| {
            chord(character).ok_or(Untypable {
                character,
                position,
            })
        })
        .collect()
}

const LETTERS: [&str; 26] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s",
    "t", "u", "v", "w", "x", "y", "z",
];

const fn plain(key: &'static str) -> Chord {
    Chord { shift: false, key }
}

const fn shifted(key: &'static str) -> Chord {
    Chord { shift: true, key }
}

/// Digits, space and symbols on a US keyboard; letters are computed by [`letter`].
const SYMBOLS: [(char, Chord); 43] = [
    ('0', plain("0")),
    ('1', plain("1")),
    ('2', plain("2")),
    ('3', plain("3")),
    ('4', plain("4")),
    ('5', plain("5")),
    ('6', plain("6")),
    ('7', plain("7")),
    ('8', plain("8")),
    ('9', plain("9")),
    (' ', plain("spc")),
    ('-', plain("minus")),
    ('=', plain("equal")),
    ('[', plain("bracket_left")),
    (']', plain("bracket_right")),
    ('\\', plain("backslash")),
    (';', plain("semicolon")),
    ('\'', plain("apostrophe")),
    ('`', plain("grave_accent")),
    (',', plain("comma")),
    ('.', plain("dot")),
    ('/', plain("slash")),
    (')', shifted("0")),
    ('!', shifted("1")),
    ('@', shifted("2")),
    ('#', shifted("3")),
    ('$', shifted("4")),
    ('%', shifted("5")),
    ('^', shifted("6")),
    ('&', shifted("7")),
    ('*', shifted("8")),
    ('(', shifted("9")),
    ('_', shifted("minus")),
    ('+', shifted("equal")),
    ('{', shifted("bracket_left")),
    ('}', shifted("bracket_right")),
    ('|', shifted("backslash")),
    (':', shifted("semicolon")),
    ('"', shifted("apostrophe")),
    ('~', shifted("grave_accent")),
    ('<', shifted("comma")),
    ('>', shifted("dot")),
    ('?', shifted("slash")),
];

fn letter(c: char) -> Option<&'static str> {
    let index = (c as u32).checked_sub('a' as u32)?;
    LETTERS.get(usize::try_from(index).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printable_ascii_character_has_a_chord() {
        for c in ' '..='~' {
            assert!(chord(c).is_some(), "{c:?} has no chord");
        }
    }

    #[test]
    fn no_two_characters_share_a_chord() {
        let mut seen = std::collections::BTreeMap::new();
        for c in ' '..='~' {
            let chord = chord(c).expect("printable ASCII");
            if let Some(other) = seen.insert((chord.shift, chord.key), c) {
                panic!("{c:?} and {other:?} both type {chord:?}");
            }
        }
        assert_eq!(seen.len(), 95);
    }

    #[test]
    fn the_boot_options_are_typable() {
        let options = "O ks=usb:/KS.CFG cpuUniformityHardCheckPanic=FALSE systemMediaSize=min \
                       com1_Port=0x3f8 tty2Port=com1";
        let chords = chords(options).expect("every character has a chord");
        assert_eq!(chords.len(), options.chars().count());
        assert_eq!(chords[0], shifted("o"));
        assert_eq!(chord('k'), Some(plain("k")));
        assert_eq!(chord('='), Some(plain("equal")));
        assert_eq!(chord(':'), Some(shifted("semicolon")));
        assert_eq!(chord('/'), Some(plain("slash")));
        assert_eq!(chord('_'), Some(shifted("minus")));
        assert_eq!(chord('-'), Some(plain("minus")));
        assert_eq!(chord('.'), Some(plain("dot")));
        assert_eq!(chord(' '), Some(plain("spc")));
        assert_eq!(chord('3'), Some(plain("3")));
        assert_eq!(chord('U'), Some(shifted("u")));
    }

    #[test]
    fn unknown_characters_are_rejected_with_their_position() {
        assert_eq!(
            chords("ks=é"),
            Err(Untypable {
                character: 'é',
                position: 3
            })
        );
        assert_eq!(
            chords("a\tb").map_err(|e| e.to_string()),
            Err("cannot type '\\t' (character 2): the keymap has printable ASCII only".to_string())
        );
        assert_eq!(chord('\n'), None);
        assert_eq!(chord('\u{7f}'), None);
        assert_eq!(chord('ß'), None);
    }

    #[test]
    fn chords_press_shift_first() {
        assert_eq!(shifted("o").keys(), ["shift", "o"]);
        assert_eq!(Key::Enter.chord().keys(), ["ret"]);
        assert_eq!(Key::Shift.chord().keys(), ["shift"]);
    }
}
