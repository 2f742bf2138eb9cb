//! What every store command needs: one tokio runtime per invocation, the
//! store opened from `--store`, the pool from `-t/--pool`, and parsing of the
//! QUERY and ID arguments into the core's types.
//!
//! Commands that only read or change existing tasks open the store with
//! [`Context::existing_store`] (a typo in `--store` is "not found", never a
//! new empty database) and check their pool with [`Context::existing_pool`]
//! (an unknown pool is "not found" with the closest name, never zeros).
//! Commands that add tasks (`create`, `worker`, `run`, `import-qlib`) use
//! [`Context::store`], which may create the store and says so once.

use std::future::Future;
use std::sync::{Arc, Mutex};

use taskpool::store::{Error, ErrorKind, Query, Store, TaskId, TaskStore, validate_pool_name};

use crate::cli::GlobalArgs;
use crate::exit::bad_input;
use crate::output::Output;

/// One invocation of a store command.
pub struct Context<'a> {
    /// The global options.
    pub global: &'a GlobalArgs,
    /// Where results are printed.
    pub out: Output,
    runtime: tokio::runtime::Runtime,
    /// The stores this invocation opened, closed before the runtime stops.
    opened: Mutex<Vec<Arc<dyn Store>>>,
}

/// Closes the stores the invocation opened ([`Context::close_at_exit`]) on
/// its runtime, then drops the runtime: a MongoDB store ends its server
/// sessions while the runtime still runs the driver's tasks (dropped
/// unclosed, the driver does it from a background task that the runtime's
/// shutdown may cut short, and then prints a panic from it).
impl Drop for Context<'_> {
    fn drop(&mut self) {
        let stores = std::mem::take(self.opened.get_mut().unwrap_or_else(|e| e.into_inner()));
        if stores.is_empty() {
            return;
        }
        self.runtime.block_on(async {
            for store in stores {
                store.close().await;
            }
        });
    }
}

impl<'a> Context<'a> {
    /// Build the invocation's runtime.
    ///
    /// # Errors
    /// When the runtime cannot be started.
    pub fn new(global: &'a GlobalArgs) -> anyhow::Result<Context<'a>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Context {
            global,
            out: Output::new(global.json, global.quiet),
            runtime,
            opened: Mutex::new(Vec::new()),
        })
    }

    /// Run `future` to completion on the invocation's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Open the store named by `--store`, creating it if it does not exist
    /// (said once on stderr), for commands that add tasks.
    ///
    /// # Errors
    /// An unknown scheme or unusable URL (exit code 2), an unreachable store (exit code 4).
    pub async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let url = &self.global.store;
        let notice = NewStoreNotice::before_open(url);
        let store = taskpool::open(url)
            .await
            .map_err(|e| crate::unreachable::shorten(e, url))?;
        notice.opened(&*store);
        self.opened(&store);
        Ok(store)
    }

    /// Open the store named by `--store` only if it exists, for commands that
    /// read or change existing tasks.
    ///
    /// # Errors
    /// No such SQLite file or sled directory (exit code 3, naming the path);
    /// otherwise as [`Context::store`].
    pub async fn existing_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let url = &self.global.store;
        let store = taskpool::open_existing(url)
            .await
            .map_err(|e| crate::unreachable::shorten(e, url))?;
        self.opened(&store);
        Ok(store)
    }

    /// Close `store` when this invocation ends, before its runtime stops
    /// (every store a command opens; [`Context::store`] and
    /// [`Context::existing_store`] do it for theirs).
    pub fn close_at_exit(&self, store: &Arc<dyn Store>) {
        self.opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(store));
    }

    fn opened(&self, store: &Arc<dyn Store>) {
        self.close_at_exit(store);
        tracing::debug!(store = %store, "opened store");
        if !store.capabilities().persistent {
            tracing::warn!(
                "{store} keeps nothing after this command exits: what it reports is gone \
                 at exit (use sqlite://PATH or sled://PATH to keep tasks between commands)"
            );
        }
    }

    /// The pool named by `-t/--pool` (or `TASKPOOL_POOL`).
    ///
    /// # Errors
    /// Bad usage (exit code 2) when no pool was given.
    pub fn pool(&self) -> anyhow::Result<&'a str> {
        self.global.pool.as_deref().ok_or_else(|| {
            bad_input("this command needs a pool: pass -t/--pool NAME or set TASKPOOL_POOL")
        })
    }

    /// The existing store and the existing pool named by `-t/--pool`: the
    /// pool's name is checked before the store is opened.
    ///
    /// # Errors
    /// As [`Context::pool`], [`Context::existing_store`] and
    /// [`Context::existing_pool`].
    pub async fn pool_store(&self) -> anyhow::Result<(Arc<dyn Store>, &'a str)> {
        let pool = self.pool()?;
        validate_pool_name(pool)?;
        let store = self.existing_store().await?;
        self.existing_pool(&*store).await?;
        Ok((store, pool))
    }

    /// The pool named by `-t/--pool`, which must exist in `store`.
    ///
    /// # Errors
    /// No pool given or an invalid name (exit code 2); no such pool (exit
    /// code 3, naming the closest pool and listing the store's pools); a
    /// store failure.
    pub async fn existing_pool(&self, store: &dyn TaskStore) -> anyhow::Result<&'a str> {
        let pool = self.pool()?;
        validate_pool_name(pool)?;
        let pools = store.pools().await?;
        if pools.iter().any(|p| p == pool) {
            return Ok(pool);
        }
        Err(not_found("pool", pool, &pools).into())
    }
}

/// Says once on stderr that opening a store created it: taken before the
/// open (is the SQLite file or sled directory there?), told after it.
#[derive(Debug)]
#[must_use = "call `opened` once the store is open"]
pub struct NewStoreNotice {
    missing: Option<String>,
}

impl NewStoreNotice {
    /// Note whether the local store of `url` exists, before opening it.
    pub fn before_open(url: &str) -> NewStoreNotice {
        NewStoreNotice {
            missing: taskpool::missing_local_store(url),
        }
    }

    /// The store is open: say that it is new if it was missing.
    pub fn opened(self, store: &dyn Store) {
        if let Some(path) = self.missing {
            tracing::warn!("created a new store at {path} ({store})");
        }
    }
}

/// A "not found" error for `what` (a pool, an experiment) named `name`, with
/// the closest of the `known` names and the list of them.
pub fn not_found(what: &str, name: &str, known: &[String]) -> Error {
    let closest = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.chars().count() / 3))
        .min();
    let mut message = format!("no {what} {name:?} in this store");
    if let Some((_, k)) = closest {
        message.push_str(&format!(" (did you mean {k:?}?)"));
    }
    if known.is_empty() {
        message.push_str(&format!("; it has no {what}s yet"));
    } else {
        const SHOWN: usize = 20;
        let mut names: Vec<&str> = known.iter().take(SHOWN).map(String::as_str).collect();
        if known.len() > SHOWN {
            names.push("…");
        }
        message.push_str(&format!("; {what}s: {}", names.join(", ")));
    }
    Error::new(ErrorKind::NotFound, message)
}

/// Parse a QUERY argument; a missing argument, an empty string and `{}` all
/// mean every task.
///
/// # Errors
/// [`ErrorKind::InvalidQuery`] (exit code 2).
pub fn parse_query(text: Option<&str>) -> anyhow::Result<Query> {
    Ok(Query::parse_str(text.unwrap_or(""))?)
}

/// Parse a task id (24 hexadecimal digits).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] (exit code 2).
pub fn parse_id(text: &str) -> anyhow::Result<TaskId> {
    Ok(text.trim().parse::<TaskId>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_closest_and_lists_all() {
        let known = vec!["rolling".to_string(), "demo".to_string()];
        let e = not_found("pool", "rollin", &known);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("did you mean \"rolling\""), "{e}");
        assert!(e.message().contains("pools: rolling, demo"), "{e}");
        let e = not_found("pool", "zzzzzzzz", &known);
        assert!(!e.message().contains("did you mean"), "{e}");
        let e = not_found("experiment", "x", &[]);
        assert!(e.message().contains("no experiments yet"), "{e}");
    }
}
