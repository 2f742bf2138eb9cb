//! Per-page CSRF tokens: every rendered page carries a fresh token in its
//! forms; a POST must send one back. A token is `SECONDS.NONCE.MAC`, the MAC
//! a keyed BLAKE3 hash under a key drawn at start, so the server keeps no
//! table of issued tokens and a token from another server (or an old one) is
//! refused.

use std::time::Duration;

use taskpool::store::Timestamp;

/// How long a page's token stays valid.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The key that signs this server's CSRF tokens.
#[derive(Clone)]
pub(crate) struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// A fresh random key.
    pub(crate) fn random() -> CsrfKey {
        CsrfKey(rand::random())
    }

    /// A fresh token for one page, issued at `now`.
    pub(crate) fn issue(&self, now: Timestamp) -> String {
        let secs = now.as_millis().div_euclid(1000);
        let nonce: u64 = rand::random();
        let body = format!("{secs:x}.{nonce:016x}");
        format!("{body}.{}", self.mac(&body))
    }

    /// Whether `token` was issued by this key within [`MAX_AGE`] of `now`.
    pub(crate) fn verify(&self, token: &str, now: Timestamp) -> bool {
        let Some((body, mac)) = token.rsplit_once('.') else {
            return false;
        };
        let Some(secs) = body
            .split_once('.')
            .and_then(|(secs, _)| i64::from_str_radix(secs, 16).ok())
        else {
            return false;
        };
        let age = now.as_millis().div_euclid(1000) - secs;
        let fresh = (-60..=MAX_AGE.as_secs() as i64).contains(&age);
        // Compare as BLAKE3 hashes: `Hash` equality is constant-time.
        fresh && blake3::hash(mac.as_bytes()) == blake3::hash(self.mac(body).as_bytes())
    }

    fn mac(&self, body: &str) -> String {
        blake3::keyed_hash(&self.0, body.as_bytes()).to_hex()[..32].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_own_fresh_tokens_only() {
        let key = CsrfKey::random();
        let now = Timestamp::now();
        let token = key.issue(now);
        assert!(key.verify(&token, now));
        assert!(!CsrfKey::random().verify(&token, now));
        assert!(!key.verify(&token, now + Duration::from_secs(25 * 3600)));
        assert!(!key.verify("", now));
        assert!(!key.verify(&token.replace('.', "-"), now));
        let mut forged = token.clone();
        forged.replace_range(..1, "0");
        assert!(!key.verify(&forged, now));
    }
}
