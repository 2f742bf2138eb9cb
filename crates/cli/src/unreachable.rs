//! One line for a MongoDB server that does not answer.
//!
//! The driver's error for an unreachable server lists every address it tried
//! and its topology (several hundred characters). The CLI shows one line
//! naming the host and the timeout; the driver's detail is logged at `info`
//! (`-v`).

use std::time::Duration;

use taskpool::store::{Error, ErrorKind};

/// `error` as it should reach the user of `url`: an unreachable MongoDB
/// server becomes one short line (the full message is logged at `info`);
/// every other error is kept.
pub fn shorten(error: Error, url: &str) -> anyhow::Error {
    if error.kind() != ErrorKind::Unavailable || !url.starts_with("mongodb") {
        return error.into();
    }
    tracing::info!("{}", error.message());
    // A `mongodb+srv://` host whose SRV record does not resolve fails at
    // once, not after the timeout: say that instead (the backend's message
    // names the lookup; the kind alone cannot tell the two apart).
    if url.starts_with("mongodb+srv://") && error.message().contains("DNS lookup") {
        return Error::unavailable(format!(
            "cannot resolve the MongoDB host {}: the DNS lookup of its SRV record \
             _mongodb._tcp.{} failed (is the name right? -v shows the driver's detail)",
            hosts(url),
            hosts(url)
        ))
        .into();
    }
    Error::unavailable(format!(
        "cannot reach the MongoDB server at {} within {} (is it running and reachable? \
         -v shows the driver's detail)",
        hosts(url),
        humantime(timeout(url))
    ))
    .into()
}

/// The `host[:port],…` part of a MongoDB URL, without credentials.
fn hosts(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// The server selection timeout the URL sets (`serverSelectionTimeoutMS`),
/// else the backend's default.
fn timeout(url: &str) -> Duration {
    url.split_once('?')
        .into_iter()
        .flat_map(|(_, query)| query.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("serverSelectionTimeoutMS"))
        .and_then(|(_, v)| v.parse().ok())
        .map_or(taskpool::MONGODB_DEFAULT_TIMEOUT, Duration::from_millis)
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_timeout_come_from_the_url() {
        let url = "mongodb://user:secret@db1:27017,db2/tp?serverSelectionTimeoutMS=500";
        assert_eq!(hosts(url), "db1:27017,db2");
        assert_eq!(timeout(url), Duration::from_millis(500));
        assert_eq!(hosts("mongodb://localhost"), "localhost");
        assert_eq!(
            timeout("mongodb://localhost/x"),
            taskpool::MONGODB_DEFAULT_TIMEOUT
        );
        assert_eq!(humantime(Duration::from_secs(10)), "10s");
    }

    #[test]
    fn only_unavailable_mongodb_errors_are_shortened() {
        let long = Error::unavailable("x".repeat(600));
        let short = shorten(long, "mongodb://h:1/db?serverSelectionTimeoutMS=200");
        let text = short.to_string();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains("h:1") && text.contains("200ms"), "{text}");
        let srv = shorten(
            Error::unavailable(
                "MongoDB DNS lookup of the SRV record _mongodb._tcp.c.invalid failed",
            ),
            "mongodb+srv://u:p@c.invalid/db",
        );
        assert!(
            srv.to_string()
                .starts_with("cannot resolve the MongoDB host c.invalid: the DNS lookup"),
            "{srv}"
        );
        let kept = shorten(Error::not_found("nope"), "mongodb://h/db");
        assert_eq!(kept.to_string(), "nope");
    }
}
