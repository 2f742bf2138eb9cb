//! Keeping passwords out of `Display`, `Debug`, errors, logs and pages: the
//! one place every backend, the CLI and the dashboard redact store URLs.

use std::fmt;

/// `url` with everything that could be a password replaced by `***`.
///
/// The user info ends at the last `@` of the URL; when in doubt (an `@` in
/// the path or options) more is hidden, never less: only the text before the
/// first `:` of the user info (the user name) is kept.
pub fn redact_url(url: &str) -> String {
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    match rest.rsplit_once('@') {
        Some((userinfo, after)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{prefix}{user}:***@{after}"),
            None => format!("{prefix}{userinfo}@{after}"),
        },
        None => url.to_string(),
    }
}

/// Secret strings (a password, as written in the URL and decoded) that must
/// never appear in a message, for scrubbing text that a library (a database
/// driver, say) built from the URL. `Debug` shows only how many there are.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The password of `url` as written, percent-decoded, and as a driver
    /// decoded it (`decoded`, if the caller has it).
    pub fn from_url(url: &str, decoded: Option<&str>) -> Secrets {
        let mut secrets = Vec::new();
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        if let Some((userinfo, _)) = rest.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            secrets.push(password.to_string());
            secrets.push(percent_decode(password));
        }
        secrets.extend(decoded.map(str::to_string));
        secrets.retain(|s| !s.is_empty());
        Secrets(secrets)
    }

    /// `text` with every secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.0 {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password() {
        assert_eq!(
            redact_url("mongodb://alice:s3cret@db1:27017,db2/tp?authSource=admin"),
            "mongodb://alice:***@db1:27017,db2/tp?authSource=admin"
        );
        assert_eq!(redact_url("mongodb://db/x"), "mongodb://db/x");
        assert_eq!(redact_url("mongodb://bob@db/x"), "mongodb://bob@db/x");
        for leaky in [
            "mongodb://a:p@ss:w@rd@h/",
            "mongodb://a:pa/ss?w@h/db",
            "mongodb+srv://a:pa?ss@cluster.example/",
            "a:pa55@host",
        ] {
            let shown = redact_url(leaky);
            assert!(!shown.contains("ss"), "{leaky} shown as {shown}");
            assert!(!shown.contains("pa5"), "{leaky} shown as {shown}");
        }
    }

    #[test]
    fn secrets_scrub_written_and_decoded_passwords() {
        let s = Secrets::from_url("mongodb://u:p%40ss@h/", None);
        assert_eq!(
            s.scrub("auth p%40ss / p@ss failed"),
            "auth *** / *** failed"
        );
        assert!(!format!("{s:?}").contains("ss"));
    }
}
