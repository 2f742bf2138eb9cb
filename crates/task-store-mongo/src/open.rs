//! Opening a store: URL schemes, connecting, the database name, timeouts.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::lock::Mutex;
use mongodb::bson::doc;
use mongodb::options::{Acknowledgment, ClientOptions, GridFsBucketOptions, WriteConcern};
use mongodb::{Client, Database};
use task_store::redact::{Secrets, redact_url};
use task_store::{Result, SharedClock};

use crate::artifacts::ARTIFACT_BUCKET;
use crate::candidates::Candidates;
use crate::error::{MongoError, is_unreachable};
use crate::options::{
    DEFAULT_CLAIM_BATCH, DEFAULT_CLAIM_BATCH_MAX_AGE, DEFAULT_DATABASE, DEFAULT_TIMEOUT,
    MongoOptions,
};
use crate::server_time::ServerTime;
use crate::store::MongoStore;

/// The URL schemes [`MongoStore`](crate::MongoStore) answers to.
pub const URL_SCHEMES: &[&str] = &["mongodb", "mongodb+srv"];

impl MongoStore {
    /// Open the store at `url` (`mongodb://…` or `mongodb+srv://…`), reading
    /// time from `clock`. The database is `options.database`, else the URL's
    /// path, else [`DEFAULT_DATABASE`]; a server must answer within
    /// `options.timeout`, else the URL's `serverSelectionTimeoutMS`, else
    /// [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// `Config` for a URL or database name that cannot be used or rejected
    /// credentials; `Unavailable` if no server answers in time.
    pub async fn open(url: &str, clock: SharedClock, options: MongoOptions) -> Result<MongoStore> {
        let (clock_refresh, sweep_interval) = (options.clock_refresh, options.sweep_interval);
        let (driver_url, own) = take_own_options(url)?;
        let claim_batch = options
            .claim_batch
            .or(own.claim_batch)
            .unwrap_or(DEFAULT_CLAIM_BATCH)
            .max(1);
        let claim_batch_max_age = options
            .claim_batch_max_age
            .or(own.claim_batch_max_age)
            .unwrap_or(DEFAULT_CLAIM_BATCH_MAX_AGE)
            // A list must outlive the claim call that read it (its clock
            // reading is fixed): 0 is taken as 1 ms.
            .max(Duration::from_millis(1));
        let lookup_indexes = options
            .lookup_indexes
            .or(own.lookup_indexes)
            .unwrap_or(false);
        let mut conn = connect(&driver_url, options).await?;
        conn.shown_url = redact_url(url);
        let time = match ServerTime::measure(&conn.db, clock.clone(), clock_refresh, &conn.secrets)
            .await
        {
            Ok(time) => time,
            Err(e) => {
                // As `close` does for an open store (see `store`).
                conn.client.shutdown().await;
                return Err(e);
            }
        };
        let artifacts = conn.db.gridfs_bucket(
            GridFsBucketOptions::builder()
                .bucket_name(ARTIFACT_BUCKET.to_string())
                .build(),
        );
        Ok(MongoStore {
            client: conn.client,
            db: conn.db,
            shown_url: conn.shown_url,
            secrets: conn.secrets,
            clock,
            time,
            ready: Mutex::new(HashSet::new()),
            known: std::sync::Mutex::new(HashSet::new()),
            swept: std::sync::Mutex::new(HashMap::new()),
            sweep_interval,
            candidates: Candidates::default(),
            claim_batch,
            claim_batch_max_age,
            lookup_indexes,
            artifacts,
        })
    }
}

/// taskpool's own URL options (not MongoDB's): `claimBatch`,
/// `claimBatchMaxAgeMS` and `lookupIndexes` (case-insensitive, like
/// MongoDB's).
#[derive(Debug, Default, PartialEq)]
struct OwnOptions {
    claim_batch: Option<usize>,
    claim_batch_max_age: Option<Duration>,
    lookup_indexes: Option<bool>,
}

/// Split taskpool's own options off `url`: the URL for the driver (which
/// rejects options it does not know) and the options.
///
/// # Errors
/// `Config` for a value that is not a whole number (`claimBatch` at least 1),
/// or for `lookupIndexes` other than `true` or `false`.
fn take_own_options(url: &str) -> Result<(String, OwnOptions)> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let hosts_from = url[after_scheme..]
        .rfind('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let Some(q) = url[hosts_from..].find('?').map(|i| hosts_from + i) else {
        return Ok((url.to_string(), OwnOptions::default()));
    };
    let mut own = OwnOptions::default();
    let mut kept = Vec::new();
    for pair in url[q + 1..].split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || -> Result<u64> {
            value.parse::<u64>().map_err(|_| {
                MongoError::BadUrl(format!(
                    "invalid MongoDB URL {}: {key} must be a whole number, not {value:?}",
                    redact_url(url)
                ))
                .into()
            })
        };
        if key.eq_ignore_ascii_case("claimBatch") {
            let n = number()?;
            if n == 0 {
                return Err(MongoError::BadUrl(format!(
                    "invalid MongoDB URL {}: claimBatch must be at least 1",
                    redact_url(url)
                ))
                .into());
            }
            own.claim_batch = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else if key.eq_ignore_ascii_case("claimBatchMaxAgeMS") {
            own.claim_batch_max_age = Some(Duration::from_millis(number()?));
        } else if key.eq_ignore_ascii_case("lookupIndexes") {
            own.lookup_indexes = Some(match value {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(MongoError::BadUrl(format!(
                        "invalid MongoDB URL {}: lookupIndexes must be true or false, not {value:?}",
                        redact_url(url)
                    ))
                    .into());
                }
            });
        } else {
            kept.push(pair);
        }
    }
    let mut driver_url = url[..q].to_string();
    if !kept.is_empty() {
        driver_url.push('?');
        driver_url.push_str(&kept.join("&"));
    }
    Ok((driver_url, own))
}

/// A connected client: what [`MongoStore`] is built from.
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) db: Database,
    pub(crate) shown_url: String,
    pub(crate) secrets: Secrets,
}

/// Parse `url`, apply `options`, connect and check the server answers.
///
/// # Errors
/// `Config` for a URL that is not `mongodb://`/`mongodb+srv://` or does not
/// parse, or a bad database name; `Unavailable` if no server answers within
/// the timeout; `Config` for rejected credentials.
pub(crate) async fn connect(url: &str, options: MongoOptions) -> Result<Connection> {
    let shown_url = redact_url(url);
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    if !URL_SCHEMES.contains(&scheme) {
        return Err(MongoError::BadUrl(format!(
            "{shown_url} is not a MongoDB URL: expected mongodb://… or mongodb+srv://…"
        ))
        .into());
    }
    let early_secrets = Secrets::from_url(url, None);
    let mut client_options = ClientOptions::parse(url).await.map_err(|e| {
        // `mongodb+srv://` URLs are resolved while parsing: a failed lookup
        // is an unreachable server, anything else a bad URL.
        if is_unreachable(&e) {
            let doing = format!(
                "DNS lookup of the SRV record _mongodb._tcp.{} (from {shown_url})",
                host_part(url)
            );
            MongoError::driver(e, &doing, &early_secrets)
        } else {
            MongoError::BadUrl(format!(
                "invalid MongoDB URL {shown_url}: {}",
                early_secrets.scrub(&e.to_string())
            ))
        }
    })?;
    let secrets = Secrets::from_url(
        url,
        client_options
            .credential
            .as_ref()
            .and_then(|c| c.password.as_deref()),
    );
    let database = options
        .database
        .or_else(|| client_options.default_database.clone())
        .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
    validate_database_name(&database)?;
    apply_defaults(&mut client_options, options.timeout);
    let client = Client::with_options(client_options)
        .map_err(|e| MongoError::driver(e, &format!("opening {shown_url}"), &secrets))?;
    let db = client.database(&database);
    db.run_command(doc! {"ping": 1})
        .await
        .map_err(|e| MongoError::driver(e, &format!("connecting to {shown_url}"), &secrets))?;
    tracing::debug!(url = %shown_url, database, "opened MongoDB task store");
    Ok(Connection {
        client,
        db,
        shown_url,
        secrets,
    })
}

/// The `host[:port],…` part of a MongoDB URL (without credentials, path
/// and options).
fn host_part(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts)
}

/// taskpool's defaults for what the URL leaves unset: timeouts (or
/// `timeout`, which overrides the URL), the app name, and majority write
/// concern.
fn apply_defaults(client_options: &mut ClientOptions, timeout: Option<Duration>) {
    match timeout {
        Some(t) => {
            client_options.server_selection_timeout = Some(t);
            client_options.connect_timeout = Some(t);
        }
        None => {
            client_options
                .server_selection_timeout
                .get_or_insert(DEFAULT_TIMEOUT);
            client_options
                .connect_timeout
                .get_or_insert(DEFAULT_TIMEOUT);
        }
    }
    if client_options.app_name.is_none() {
        client_options.app_name = Some("taskpool".to_string());
    }
    // A write acknowledged by a replica set's primary alone is lost if the
    // primary fails before a secondary copied it: unless the URL says
    // otherwise (`w=1`), wait for a majority. Retryable writes stay on (the
    // driver's default), so a write cut by a failover is sent again once.
    if client_options.write_concern.is_none() {
        client_options.write_concern =
            Some(WriteConcern::builder().w(Acknowledgment::Majority).build());
    }
}

/// MongoDB's rules for database names (portable across platforms).
///
/// # Errors
/// `Config` saying what is wrong.
pub(crate) fn validate_database_name(name: &str) -> Result<()> {
    const FORBIDDEN: &[char] = &['/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?'];
    if name.is_empty() || name.len() > 63 || name.contains(FORBIDDEN) || name.contains('\0') {
        return Err(MongoError::BadUrl(format!(
            "invalid MongoDB database name {name:?}: use 1 to 63 bytes without / \\ . space \" $ * < > : | ?"
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn apply_defaults_asks_for_majority_unless_the_url_sets_w() {
        let mut options = ClientOptions::parse("mongodb://h/").await.unwrap();
        apply_defaults(&mut options, None);
        let w = options.write_concern.and_then(|c| c.w);
        assert_eq!(w, Some(Acknowledgment::Majority));
        assert_eq!(options.server_selection_timeout, Some(DEFAULT_TIMEOUT));
        let mut options = ClientOptions::parse("mongodb://h/?w=1&serverSelectionTimeoutMS=500")
            .await
            .unwrap();
        apply_defaults(&mut options, None);
        let w = options.write_concern.and_then(|c| c.w);
        assert_eq!(w, Some(Acknowledgment::Nodes(1)));
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn own_options_are_taken_out_of_the_url() {
        let (url, own) = take_own_options(
            "mongodb://u:p?@h/db?w=1&claimbatch=8&claimBatchMaxAgeMS=250&lookupIndexes=true",
        )
        .unwrap();
        assert_eq!(url, "mongodb://u:p?@h/db?w=1");
        assert_eq!(
            own,
            OwnOptions {
                claim_batch: Some(8),
                claim_batch_max_age: Some(Duration::from_millis(250)),
                lookup_indexes: Some(true),
            }
        );
        let (_, own) = take_own_options("mongodb://h/?lookupindexes=false").unwrap();
        assert_eq!(own.lookup_indexes, Some(false));
        let (url, own) = take_own_options("mongodb://h/?claimBatch=1").unwrap();
        assert_eq!((url.as_str(), own.claim_batch), ("mongodb://h/", Some(1)));
        let (url, own) = take_own_options("mongodb://h/db").unwrap();
        assert_eq!(
            (url.as_str(), own),
            ("mongodb://h/db", OwnOptions::default())
        );
        for bad in [
            "mongodb://h/?claimBatch=0",
            "mongodb://h/?claimBatchMaxAgeMS=1s",
            "mongodb://h/?lookupIndexes=1",
            "mongodb://h/?lookupIndexes",
        ] {
            let e = take_own_options(bad).unwrap_err();
            assert_eq!(e.kind(), task_store::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn host_part_drops_credentials_path_and_options() {
        assert_eq!(
            host_part("mongodb+srv://u:p@ss@cluster0.example.net/db?w=1"),
            "cluster0.example.net"
        );
        assert_eq!(host_part("mongodb://h1:1,h2:2/?x=1"), "h1:1,h2:2");
        assert_eq!(host_part("mongodb://h"), "h");
    }

    #[test]
    fn validate_database_name_follows_mongodb_rules() {
        validate_database_name("taskpool").unwrap();
        validate_database_name("tp_test-1").unwrap();
        for bad in ["", "a.b", "a b", "a/b", "x$", &"d".repeat(64)] {
            assert_eq!(
                validate_database_name(bad).unwrap_err().kind(),
                task_store::ErrorKind::Config
            );
        }
    }
}
