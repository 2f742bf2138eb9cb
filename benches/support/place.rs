//! Which backend a benchmark runs on, and where its data lives.

use std::path::PathBuf;
use std::sync::Arc;

use task_store_mongo::{MongoOptions, MongoStore};
use task_store_sled::SledStore;
use task_store_sqlite::SqliteStore;
use taskpool::store::{MemoryStore, SystemClock, TaskStore};

use super::raw::RawStore;
use super::raw_mongo::RawMongo;
use super::raw_sled::RawSled;
use super::raw_sqlite::RawSqlite;
use super::settings;

/// A backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The in-process reference store (no raw baseline).
    Memory,
    /// SQLite (raw baseline: hand-written rusqlite statements).
    Sqlite,
    /// sled (raw baseline: sled trees and transactions).
    Sled,
    /// MongoDB (raw baseline: the driver's `find_one_and_update` and `update_one`).
    Mongo,
}

impl Kind {
    /// Every backend.
    pub const ALL: [Kind; 4] = [Kind::Memory, Kind::Sqlite, Kind::Sled, Kind::Mongo];

    /// The backend's name in benchmark ids.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::Sqlite => "sqlite",
            Kind::Sled => "sled",
            Kind::Mongo => "mongo",
        }
    }

    /// The backend named `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.label() == name)
    }
}

/// A store location: a file, a directory or a MongoDB database.
#[derive(Debug, Clone)]
pub enum Place {
    /// A fresh in-process store at each open.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A sled directory.
    Sled(PathBuf),
    /// A MongoDB database.
    Mongo {
        /// The server URL.
        url: String,
        /// The database.
        database: String,
    },
}

impl Place {
    /// The location of `kind`'s data for the benchmark `name`, in the bench
    /// directory (or database `taskpool_bench_NAME`).
    pub fn named(kind: Kind, name: &str) -> Place {
        let dir = settings::bench_dir();
        match kind {
            Kind::Memory => Place::Memory,
            Kind::Sqlite => Place::Sqlite(dir.join(format!("{name}.db"))),
            Kind::Sled => Place::Sled(dir.join(format!("{name}.sled"))),
            Kind::Mongo => Place::Mongo {
                url: settings::mongodb_url().expect("a MongoDB URL"),
                database: format!("taskpool_bench_{name}"),
            },
        }
    }

    /// As [`Place::named`], emptied first (scratch data of one run).
    pub async fn scratch(kind: Kind, name: &str) -> Place {
        let place = Place::named(kind, name);
        match &place {
            Place::Memory => {}
            Place::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Place::Sled(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Mongo { url, database } => {
                let client = mongodb::Client::with_uri_str(url)
                    .await
                    .expect("connect to MongoDB");
                client
                    .database(database)
                    .drop()
                    .await
                    .expect("drop the scratch database");
            }
        }
        place
    }

    /// The backend of this place.
    pub fn kind(&self) -> Kind {
        match self {
            Place::Memory => Kind::Memory,
            Place::Sqlite(_) => Kind::Sqlite,
            Place::Sled(_) => Kind::Sled,
            Place::Mongo { .. } => Kind::Mongo,
        }
    }

    /// The store URL the `taskpool` command line takes.
    pub fn url(&self) -> String {
        match self {
            Place::Memory => "memory://".to_string(),
            Place::Sqlite(path) => format!("sqlite://{}", path.display()),
            Place::Sled(dir) => format!("sled://{}", dir.display()),
            Place::Mongo { url, database } => {
                let (base, query) = url.split_once('?').unwrap_or((url, ""));
                let (scheme, rest) = base.split_once("://").expect("a mongodb:// URL");
                let hosts = rest.split('/').next().unwrap_or(rest);
                match query {
                    "" => format!("{scheme}://{hosts}/{database}"),
                    q => format!("{scheme}://{hosts}/{database}?{q}"),
                }
            }
        }
    }

    /// Open the store (for sled, the directory must not be open elsewhere).
    pub async fn open_store(&self) -> Arc<dyn TaskStore> {
        let clock = Arc::new(SystemClock);
        match self {
            Place::Memory => Arc::new(MemoryStore::new()),
            Place::Sqlite(_) => Arc::new(
                SqliteStore::open(&self.url(), clock, Default::default())
                    .await
                    .expect("open the SQLite store"),
            ),
            Place::Sled(_) => Arc::new(
                SledStore::open(&self.url(), clock, Default::default())
                    .await
                    .expect("open the sled store"),
            ),
            Place::Mongo { url, database } => {
                let mut options = MongoOptions::default().database(database.clone());
                if let Some(batch) = settings::mongo_claim_batch() {
                    options = options.claim_batch(batch);
                }
                Arc::new(
                    MongoStore::open(url, clock, options)
                        .await
                        .expect("open the MongoDB store"),
                )
            }
        }
    }

    /// Open the raw baseline on the same data (`None` for memory). For sled,
    /// the store must be closed first.
    pub async fn open_raw(&self) -> Option<Arc<dyn RawStore>> {
        match self {
            Place::Memory => None,
            Place::Sqlite(path) => Some(Arc::new(RawSqlite::open(path))),
            Place::Sled(dir) => Some(Arc::new(RawSled::open(dir))),
            Place::Mongo { url, database } => Some(Arc::new(RawMongo::open(url, database).await)),
        }
    }
}
