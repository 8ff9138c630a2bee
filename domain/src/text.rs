use crate::error::InvalidInput;

pub const MAX_TEXT_CHARS: usize = 4096;

/// A message body: 1 to 4096 Unicode characters, not only whitespace, no NUL.
/// Everything else (emoji, CJK, RTL, quotes, backslashes) is kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_TEXT_CHARS {
            return Err(InvalidInput::TextLength(chars));
        }
        if raw.contains('\0') {
            return Err(InvalidInput::NulInText);
        }
        if raw.chars().all(char::is_whitespace) {
            return Err(InvalidInput::BlankText);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(MessageText::parse(&"😀".repeat(4096)).is_ok());
        assert_eq!(
            MessageText::parse(&"😀".repeat(4097)),
            Err(InvalidInput::TextLength(4097))
        );
        assert_eq!(MessageText::parse(""), Err(InvalidInput::TextLength(0)));
    }

    #[test]
    fn keeps_any_character_but_nul() {
        let tricky = " 你好 \"quoted\" \\back\\slash\\ مرحبا 👨‍👩‍👧 \u{202e}rtl\t\r\n' OR 1=1; -- ";
        assert_eq!(MessageText::parse(tricky).unwrap().as_str(), tricky);
        assert_eq!(MessageText::parse("a\0b"), Err(InvalidInput::NulInText));
    }

    #[test]
    fn rejects_text_that_is_only_whitespace() {
        for blank in [" ", "\t\n", "\u{3000}\u{a0}"] {
            assert_eq!(MessageText::parse(blank), Err(InvalidInput::BlankText));
        }
    }
}
