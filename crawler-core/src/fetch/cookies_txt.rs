//! Netscape `cookies.txt` files, as curl writes them (`-c`) and browser extensions
//! export them: one cookie a line, seven fields separated by tabs:
//!
//! ```text
//! domain  include-subdomains  path  secure  expires  name  value
//! .a.test TRUE                /     FALSE   0        sid   abc
//! ```
//!
//! `expires` is seconds since 1970 (0: a session cookie); a domain written
//! `#HttpOnly_a.test` is an HttpOnly cookie; other lines starting with `#` are
//! comments, and blank lines are skipped. A cookie that has expired is skipped; any
//! other line that is not such a cookie is an error naming the file and the line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie_store::RawCookie;
use url::Url;

use super::cookie_jar::{is_public_suffix, CookieJar};

/// One cookie of a file, as the response of `url` would have set it.
#[derive(Clone, Debug)]
pub struct FileCookie {
    /// Its line in the file (from 1).
    pub line: usize,
    /// The cookie, with `Domain`, `Path`, `Secure`, `HttpOnly` and `Expires`.
    pub raw: RawCookie<'static>,
    /// A URL of its domain and path (https for a secure cookie).
    pub url: Url,
}

/// A cookies file that cannot be read or has a line that is not a cookie.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CookieFileError {
    /// The file, as given.
    pub path: PathBuf,
    /// The line (from 1), or 0 when the file itself could not be read.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for CookieFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.path.display(), self.reason),
            line => write!(f, "{}:{line}: {}", self.path.display(), self.reason),
        }
    }
}

/// The longest cookies file read: far more than [`super::cookie_jar::MAX_COOKIES`]
/// cookies of any size a browser keeps.
const MAX_FILE_LEN: u64 = 16 << 20;

/// Reads the cookies of a file. Each is held to the jar's rules (a public suffix
/// domain is an error at its line); expired ones are left out.
pub fn read_cookies_file(path: &Path) -> Result<Vec<FileCookie>, CookieFileError> {
    let fail = |line: usize, reason: String| CookieFileError {
        path: path.to_owned(),
        line,
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| fail(0, format!("cannot read the cookies file: {e}")))?
        .len();
    if len > MAX_FILE_LEN {
        return Err(fail(
            0,
            format!("the cookies file is {len} bytes, more than the {MAX_FILE_LEN} read"),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| fail(0, format!("cannot read the cookies file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        fail(line, "not UTF-8 text".into())
    })?;
    let now = SystemTime::now();
    let check = CookieJar::new();
    let mut cookies = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let cookie = parse_line(line, number, now).map_err(|reason| fail(number, reason))?;
        if let Some(cookie) = cookie {
            check
                .insert(&cookie.raw, &cookie.url)
                .map_err(|refused| fail(number, format!("the cookie is refused: {refused}")))?;
            cookies.push(cookie);
        }
    }
    Ok(cookies)
}

/// One line: a cookie, `None` for a comment, a blank line or an expired cookie, or
/// why it is neither.
fn parse_line(line: &str, number: usize, now: SystemTime) -> Result<Option<FileCookie>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
        Some(rest) => (rest, true),
        None if line.starts_with('#') || line.trim().is_empty() => return Ok(None),
        None => (line, false),
    };
    let fields: Vec<&str> = line.split('\t').collect();
    let [domain, subdomains, path, secure, expires, name, value] = fields[..] else {
        return Err(format!(
            "expected 7 fields separated by tabs (domain, include-subdomains, path, secure, expires, name, value), found {}",
            fields.len()
        ));
    };
    let host = domain.strip_prefix('.').unwrap_or(domain);
    if host.is_empty() {
        return Err("the domain is empty".into());
    }
    let subdomains = flag(subdomains, "include-subdomains")?;
    let secure = flag(secure, "secure")?;
    if !path.starts_with('/') {
        return Err(format!("the path {path:?} does not start with /"));
    }
    let expires: u64 = expires.trim().parse().map_err(|_| {
        format!("the expiry {expires:?} is not a whole number of seconds since 1970 (0 for a session cookie)")
    })?;
    if name.is_empty() {
        return Err("the cookie name is empty".into());
    }
    let bad = |c: char| c.is_control() || matches!(c, ';' | '=' | ' ' | ',' | '"');
    if name.contains(bad) {
        return Err(format!(
            "the cookie name {name:?} has a character a cookie name cannot have"
        ));
    }
    if value.contains(|c: char| c.is_control() || c == ';') {
        return Err(format!(
            "the value of {name} has a control character or a ;"
        ));
    }
    let scheme = if secure { "https" } else { "http" };
    let url = Url::parse(&format!("{scheme}://{host}{path}"))
        .ok()
        .filter(|url| url.host_str().is_some())
        .ok_or_else(|| format!("the domain {domain:?} is not a host name"))?;
    if subdomains && is_public_suffix(host) {
        return Err(format!(
            "the domain {host} is a public suffix: its cookie would go to every site under it"
        ));
    }
    let mut attributes = format!("{name}={value}; Path={path}");
    if subdomains {
        attributes.push_str("; Domain=");
        attributes.push_str(host);
    }
    if secure {
        attributes.push_str("; Secure");
    }
    if http_only {
        attributes.push_str("; HttpOnly");
    }
    if expires != 0 {
        // Past year 9999 an HTTP date cannot be written: as good as never.
        let at = UNIX_EPOCH + Duration::from_secs(expires.min(253_402_300_799));
        if at <= now {
            return Ok(None);
        }
        attributes.push_str("; Expires=");
        attributes.push_str(&httpdate::fmt_http_date(at));
    }
    let raw = RawCookie::parse(attributes).map_err(|e| format!("not a cookie: {e}"))?;
    Ok(Some(FileCookie {
        line: number,
        raw,
        url,
    }))
}

fn flag(text: &str, field: &str) -> Result<bool, String> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("TRUE") => Ok(true),
        t if t.eq_ignore_ascii_case("FALSE") => Ok(false),
        other => Err(format!("the {field} field is {other:?}, not TRUE or FALSE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<FileCookie>, CookieFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies.txt");
        std::fs::write(&path, text).unwrap();
        read_cookies_file(&path).map_err(|mut e| {
            e.path = PathBuf::from("cookies.txt");
            e
        })
    }

    #[test]
    fn curl_files_are_read_with_their_comments_and_httponly_lines() {
        let text = "# Netscape HTTP Cookie File\n\
                    # https://curl.se/docs/http-cookies.html\n\
                    \n\
                    .a.test\tTRUE\t/\tFALSE\t0\tsid\tabc\n\
                    #HttpOnly_b.test\tFALSE\t/app\tTRUE\t4102444800\ttoken\tx=y\r\n\
                    c.test\tFALSE\t/\tFALSE\t1\told\tgone\n\
                    c.test\tFALSE\t/\tFALSE\t0\tempty\t\n";
        let cookies = read(text).unwrap();
        let lines: Vec<usize> = cookies.iter().map(|c| c.line).collect();
        assert_eq!(lines, [4, 5, 7]);
        let jar = CookieJar::new();
        for c in &cookies {
            jar.insert(&c.raw, &c.url).unwrap();
        }
        let header = |u: &str| jar.header_for(&Url::parse(u).unwrap());
        assert_eq!(header("http://www.a.test/").unwrap(), "sid=abc");
        assert_eq!(header("http://b.test/app/1"), None, "secure");
        assert_eq!(header("https://b.test/app/1").unwrap(), "token=x=y");
        assert_eq!(header("https://x.b.test/app/1"), None, "host only");
        assert!(cookies[1].raw.http_only() == Some(true));
        assert_eq!(header("http://c.test/").unwrap(), "empty=");
    }

    #[test]
    fn a_bad_line_is_named_with_why() {
        let cases = [
            ("a.test\tTRUE\t/\tFALSE\t0\tsid\n", "expected 7 fields"),
            ("a.test TRUE / FALSE 0 sid abc\n", "found 1"),
            (
                "a.test\tyes\t/\tFALSE\t0\tsid\tabc\n",
                "include-subdomains field is \"yes\"",
            ),
            (
                "a.test\tTRUE\tapp\tFALSE\t0\tsid\tabc\n",
                "does not start with /",
            ),
            (
                "a.test\tTRUE\t/\tFALSE\tsoon\tsid\tabc\n",
                "expiry \"soon\"",
            ),
            ("a.test\tTRUE\t/\tFALSE\t-5\tsid\tabc\n", "expiry \"-5\""),
            ("a.test\tTRUE\t/\tFALSE\t0\t\tabc\n", "name is empty"),
            ("\tTRUE\t/\tFALSE\t0\tsid\tabc\n", "domain is empty"),
            (
                ".co.uk\tTRUE\t/\tFALSE\t0\tsid\tabc\n",
                "co.uk is a public suffix",
            ),
            (".test\tTRUE\t/\tFALSE\t0\tsid\tabc\n", "public suffix"),
            ("a test\tTRUE\t/\tFALSE\t0\tsid\tabc\n", "not a host name"),
        ];
        for (line, why) in cases {
            let error = read(&format!("# comment\n{line}")).unwrap_err();
            let text = error.to_string();
            assert!(text.starts_with("cookies.txt:2: "), "{text}");
            assert!(text.contains(why), "{line:?}: {text}");
        }
        let missing = read_cookies_file(Path::new("/nonexistent/cookies.txt")).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("/nonexistent/cookies.txt: cannot read"));
    }
}
