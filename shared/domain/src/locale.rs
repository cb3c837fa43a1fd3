//! Locales as BCP 47 language tags, in the subset a shop needs: a language, an optional
//! script and an optional region (`en`, `nl-BE`, `zh-Hant-TW`, `es-419`).

use crate::error::{Violation, invalid};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locale(String);

impl Locale {
    /// Parses a tag and normalises its case (`EN-us` → `en-US`).
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let refuse = || {
            invalid("invalid_locale", format!("'{raw}' is not a BCP 47 language tag such as 'en' or 'nl-BE'"))
        };
        let mut parts = raw.split('-');
        let language =
            parts.next().filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
        let mut tag = language.ok_or_else(refuse)?.to_ascii_lowercase();
        let mut rest: Vec<&str> = parts.collect();
        if let Some(script) =
            rest.first().filter(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_alphabetic()))
        {
            tag.push('-');
            tag.push_str(&script[..1].to_ascii_uppercase());
            tag.push_str(&script[1..].to_ascii_lowercase());
            rest.remove(0);
        }
        match rest.as_slice() {
            [] => {}
            [region] if region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()) => {
                tag.push('-');
                tag.push_str(&region.to_ascii_uppercase());
            }
            [region] if region.len() == 3 && region.chars().all(|c| c.is_ascii_digit()) => {
                tag.push('-');
                tag.push_str(region);
            }
            _ => return Err(refuse()),
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Locale;

    #[test]
    fn tags_are_normalised_to_their_canonical_case() {
        assert_eq!(Locale::parse("EN-us").unwrap().as_str(), "en-US");
        assert_eq!(Locale::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert_eq!(Locale::parse("es-419").unwrap().as_str(), "es-419");
        assert_eq!(Locale::parse("nl").unwrap().as_str(), "nl");
    }

    #[test]
    fn malformed_tags_are_refused() {
        for raw in ["", "e", "english", "en_US", "en-", "en-U", "en-USA1", "12", "en-US-x"] {
            assert!(Locale::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }
}
