//! Opening a store: URL schemes, options, the database name, timeouts.

use std::time::Duration;

use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use task_store::{Error, Result};

use crate::error::{convert, is_unreachable};
use task_store::redact::{Secrets, redact_url};

/// The URL schemes [`MongoStore`](crate::MongoStore) answers to.
pub const URL_SCHEMES: &[&str] = &["mongodb", "mongodb+srv"];

/// The database used when the URL names none (`mongodb://host/`).
pub const DEFAULT_DATABASE: &str = "taskpool";

/// How long to look for a reachable server (and to connect) unless the URL
/// (`serverSelectionTimeoutMS`, `connectTimeoutMS`) or [`OpenOptions`] say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of [`MongoStore::open`](crate::MongoStore::open) beyond the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Server selection and connect timeout; overrides the URL's. `None`:
    /// the URL's, or [`DEFAULT_TIMEOUT`] where the URL sets none.
    pub timeout: Option<Duration>,
    /// The database; overrides the URL's path. `None`: the URL's, or
    /// [`DEFAULT_DATABASE`].
    pub database: Option<String>,
}

/// A connected client: what [`MongoStore`](crate::MongoStore) is built from.
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
pub(crate) async fn connect(url: &str, options: OpenOptions) -> Result<Connection> {
    let shown_url = redact_url(url);
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    if !URL_SCHEMES.contains(&scheme) {
        return Err(Error::config(format!(
            "{shown_url} is not a MongoDB URL: expected mongodb://… or mongodb+srv://…"
        )));
    }
    let early_secrets = Secrets::from_url(url, None);
    let mut client_options = ClientOptions::parse(url).await.map_err(|e| {
        // `mongodb+srv://` URLs are resolved while parsing: a failed lookup
        // is an unreachable server, anything else a bad URL.
        if is_unreachable(&e) {
            convert(e, &format!("resolving {shown_url}"), &early_secrets)
        } else {
            Error::config(format!(
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
    match options.timeout {
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
    let client = Client::with_options(client_options)
        .map_err(|e| convert(e, &format!("opening {shown_url}"), &secrets))?;
    let db = client.database(&database);
    db.run_command(doc! {"ping": 1})
        .await
        .map_err(|e| convert(e, &format!("connecting to {shown_url}"), &secrets))?;
    tracing::debug!(url = %shown_url, database, "opened MongoDB task store");
    Ok(Connection {
        client,
        db,
        shown_url,
        secrets,
    })
}

/// MongoDB's rules for database names (portable across platforms).
///
/// # Errors
/// `Config` saying what is wrong.
pub(crate) fn validate_database_name(name: &str) -> Result<()> {
    const FORBIDDEN: &[char] = &['/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?'];
    if name.is_empty() || name.len() > 63 || name.contains(FORBIDDEN) || name.contains('\0') {
        return Err(Error::config(format!(
            "invalid MongoDB database name {name:?}: use 1 to 63 bytes without / \\ . space \" $ * < > : | ?"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
