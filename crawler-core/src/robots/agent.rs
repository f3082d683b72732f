//! The product token: the name a crawler looks for in `User-agent` lines.

use std::fmt;

/// A crawler's product token (RFC 9309 §2.2.1): letters, `_` and `-`, compared without
/// regard to ASCII case. Stored lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProductToken(String);

/// A `--robots-agent` value that is not a product token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a robots.txt product token (letters, '_' and '-' only)")]
pub struct ProductTokenError(pub String);

impl ProductToken {
    /// Parses a product token as given (`--robots-agent`): it must be one.
    pub fn parse(text: &str) -> Result<ProductToken, ProductTokenError> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(is_token_byte) {
            Ok(ProductToken(text.to_ascii_lowercase()))
        } else {
            Err(ProductTokenError(text.to_owned()))
        }
    }

    /// The product token of a `User-Agent` header value: the leading run of token
    /// characters (`crawler/0.1.0` gives `crawler`), or for the common
    /// `Mozilla/5.0 (compatible; ExampleBot/0.1; +https://...)` form, the name after
    /// `compatible;` (RFC 9309 §2.2.1 gives this example). `None` when neither has one.
    pub fn from_user_agent(user_agent: &str) -> Option<ProductToken> {
        let user_agent = user_agent.trim();
        let after_compatible = user_agent
            .find("compatible;")
            .map(|at| user_agent[at + "compatible;".len()..].trim_start());
        let source = match after_compatible {
            Some(rest) if user_agent.starts_with("Mozilla/") => rest,
            _ => user_agent,
        };
        let end = source
            .bytes()
            .position(|b| !is_token_byte(b))
            .unwrap_or(source.len());
        ProductToken::parse(&source[..end]).ok()
    }

    /// The token, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a `User-agent` line's value names this crawler.
    ///
    /// The value's leading run of token characters is compared, so `FooBot/1.2` names
    /// `foobot` (what Google's parser does; the RFC asks for the bare token).
    pub(crate) fn is_named_by(&self, value: &str) -> bool {
        leading_token(value).eq_ignore_ascii_case(&self.0)
    }
}

impl fmt::Display for ProductToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The leading run of token characters of a `User-agent` value.
pub(crate) fn leading_token(value: &str) -> &str {
    let end = value
        .bytes()
        .position(|b| !is_token_byte(b))
        .unwrap_or(value.len());
    &value[..end]
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_user_agent_headers() {
        let token = |ua| ProductToken::from_user_agent(ua).map(|t| t.0);
        assert_eq!(token("crawler/0.1.0").as_deref(), Some("crawler"));
        assert_eq!(token("FooBot").as_deref(), Some("foobot"));
        assert_eq!(
            token("Mozilla/5.0 (compatible; ExampleBot/0.1; https://www.example.com/bot.html)")
                .as_deref(),
            Some("examplebot")
        );
        assert_eq!(token("1bot"), None);
        assert_eq!(token(""), None);
    }

    #[test]
    fn given_tokens_must_be_tokens() {
        assert!(ProductToken::parse("My_Bot-2").is_err());
        assert_eq!(
            ProductToken::parse("My_Bot-x").unwrap().as_str(),
            "my_bot-x"
        );
        assert!(ProductToken::parse("bot/1.0").is_err());
        assert!(ProductToken::parse("").is_err());
    }

    #[test]
    fn user_agent_lines_match_case_insensitively_by_their_token() {
        let token = ProductToken::parse("foobot").unwrap();
        assert!(token.is_named_by("FooBot"));
        assert!(token.is_named_by("FOOBOT/1.2"));
        assert!(!token.is_named_by("foobotx"));
        assert!(!token.is_named_by("foo"));
        assert!(!token.is_named_by("*"));
    }
}
