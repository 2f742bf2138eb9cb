//! Candidate lists of the batch claim: the ids of a pool's best claimable
//! tasks, read with one sorted query and claimed one by one by `_id`.
//!
//! A list belongs to one pool, one claim status (`from`) and one claim
//! query, and is shared by every claim of this store with those three (so
//! the workers of one process never fight over a candidate). It is only a
//! guess of which tasks to try first: each claim re-checks on the server
//! everything a claim requires (see the `claim` module), so a candidate that
//! was taken, changed or removed meanwhile is skipped, never handed out.
//!
//! A list is dropped
//! - when it is empty;
//! - at its `valid_until` (the store's server-time clock): the list's read
//!   time plus [`MongoOptions::claim_batch_max_age`](crate::MongoOptions),
//!   or earlier at the first lease expiry the list does not contain (a
//!   running task of `from` whose lease was live at the read, or a lease
//!   this store handed out since), so an expired lease is never claimed late;
//! - whenever this store writes something that can make a task of the pool
//!   claimable or change the order (`forget`).
//!
//! Under contention (a candidate of the list was taken by another process),
//! the next claim takes a random candidate among the first `misses + 1`
//! instead of the head, so processes that read the same list spread over it
//! rather than all asking for its first task again. With no miss (one
//! process, or processes that do not collide) candidates are taken in the
//! list's order: priority, then `_id`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use mongodb::bson::oid::ObjectId;
use rand::Rng;
use task_store::{Status, Timestamp};

/// The candidate lists of one store, per pool.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    lists: Mutex<HashMap<String, Vec<CandidateList>>>,
    /// Counts `forget` calls: a list read before one is not installed.
    generation: AtomicU64,
    /// Held while reading a list, so the claims of this store that find no
    /// list read one, not one each (they wait and use it).
    pub(crate) reading: futures::lock::Mutex<()>,
}

/// Which claims a list serves: the claim status and the claim's query (its
/// `Debug` form, which is deterministic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListKey {
    pub(crate) from: Status,
    pub(crate) query: String,
}

/// One candidate of a list: its id, and whether it had the claim's status
/// when the list was read (`free`; otherwise it was a `running` task whose
/// lease had expired). A free candidate of a claim without a query is
/// claimed with the filter `{_id, status}`, which the lookup indexes serve
/// (see the `claim` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) id: ObjectId,
    pub(crate) free: bool,
}

/// One list of candidates, best first.
#[derive(Debug)]
struct CandidateList {
    key: ListKey,
    ids: VecDeque<Candidate>,
    valid_until: Timestamp,
    /// Candidates of this list found taken by another process.
    misses: usize,
}

impl Candidates {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<CandidateList>>> {
        self.lists.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the next candidate of `pool`'s list for `key`, if there is a
    /// list still valid at `now` (dropping it when it is empty or expired).
    pub(crate) fn next(&self, pool: &str, key: &ListKey, now: Timestamp) -> Option<Candidate> {
        let mut lists = self.lock();
        let pool_lists = lists.get_mut(pool)?;
        pool_lists.retain(|l| now < l.valid_until && !l.ids.is_empty());
        let list = pool_lists.iter_mut().find(|l| &l.key == key)?;
        let spread = list.misses.min(list.ids.len() - 1);
        let at = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        list.ids.remove(at)
    }

    /// Whether `pool` has a list for `key` with candidates left at `now`.
    pub(crate) fn has(&self, pool: &str, key: &ListKey, now: Timestamp) -> bool {
        self.lock().get(pool).is_some_and(|ls| {
            ls.iter()
                .any(|l| &l.key == key && now < l.valid_until && !l.ids.is_empty())
        })
    }

    /// The generation to pass to [`Candidates::put`] for a list read from
    /// now on.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Install a list for `key` read since `generation` (replacing an older
    /// one) unless this store wrote to a pool since, and drop the pool's
    /// lists that expired by `now`.
    pub(crate) fn put(
        &self,
        pool: &str,
        key: ListKey,
        list: (Vec<Candidate>, u64),
        valid_until: Timestamp,
        now: Timestamp,
    ) {
        let (ids, generation) = list;
        let mut lists = self.lock();
        if self.generation() != generation {
            return;
        }
        let pool_lists = lists.entry(pool.to_string()).or_default();
        pool_lists.retain(|l| now < l.valid_until && l.key != key);
        pool_lists.push(CandidateList {
            key,
            ids: ids.into(),
            valid_until,
            misses: 0,
        });
    }

    /// A candidate of `key`'s list was no longer claimable.
    pub(crate) fn missed(&self, pool: &str, key: &ListKey) {
        if let Some(list) = self
            .lock()
            .get_mut(pool)
            .and_then(|ls| ls.iter_mut().find(|l| &l.key == key))
        {
            list.misses += 1;
        }
    }

    /// This store handed out a lease on `pool` expiring at `expires_at`: no
    /// list of the pool may outlive it (the task is claimable again then).
    pub(crate) fn leased(&self, pool: &str, expires_at: Timestamp) {
        if let Some(pool_lists) = self.lock().get_mut(pool) {
            for list in pool_lists {
                list.valid_until = list.valid_until.min(expires_at);
            }
        }
    }

    /// Drop every list of `pool` (this store changed what is claimable there
    /// or in which order).
    pub(crate) fn forget(&self, pool: &str) {
        let mut lists = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        lists.remove(pool);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str) -> ListKey {
        ListKey {
            from: Status::Waiting,
            query: query.to_string(),
        }
    }

    fn ids(n: u8) -> Vec<Candidate> {
        (1..=n)
            .map(|i| Candidate {
                id: ObjectId::from_bytes([i; 12]),
                free: i % 2 == 0,
            })
            .collect()
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn candidates_come_in_list_order_until_the_list_is_empty() {
        let c = Candidates::default();
        c.put("p", key("q"), (ids(3), 0), at(1000), at(0));
        assert!(c.has("p", &key("q"), at(10)));
        let taken: Vec<_> = std::iter::from_fn(|| c.next("p", &key("q"), at(10))).collect();
        assert_eq!(taken, ids(3));
        assert_eq!(c.next("p", &key("q"), at(10)), None);
        assert!(!c.has("p", &key("q"), at(10)));
    }

    #[test]
    fn a_list_is_dropped_at_valid_until_and_on_forget() {
        let c = Candidates::default();
        c.put("p", key("q"), (ids(3), 0), at(1000), at(0));
        assert_eq!(c.next("p", &key("q"), at(1000)), None, "expired");
        c.put("p", key("q"), (ids(3), 0), at(1000), at(0));
        c.forget("p");
        assert_eq!(c.next("p", &key("q"), at(1)), None, "forgotten");
    }

    #[test]
    fn a_list_read_before_a_write_is_not_installed() {
        let c = Candidates::default();
        let generation = c.generation();
        c.forget("p");
        c.put("p", key("q"), (ids(3), generation), at(1000), at(0));
        assert_eq!(c.next("p", &key("q"), at(1)), None);
    }

    #[test]
    fn a_lease_handed_out_caps_every_list_of_its_pool() {
        let c = Candidates::default();
        c.put("p", key("a"), (ids(3), 0), at(1000), at(0));
        c.put("p", key("b"), (ids(3), 0), at(1000), at(0));
        c.put("other", key("a"), (ids(3), 0), at(1000), at(0));
        c.leased("p", at(500));
        assert_eq!(c.next("p", &key("a"), at(500)), None);
        assert_eq!(c.next("p", &key("b"), at(500)), None);
        assert!(c.next("other", &key("a"), at(500)).is_some());
    }

    #[test]
    fn lists_are_per_status_and_query() {
        let c = Candidates::default();
        c.put("p", key("a"), (ids(1), 0), at(1000), at(0));
        assert_eq!(c.next("p", &key("b"), at(1)), None);
        let part_done = ListKey {
            from: Status::PartDone,
            query: "a".into(),
        };
        assert_eq!(c.next("p", &part_done, at(1)), None);
        assert_eq!(c.next("p", &key("a"), at(1)), Some(ids(1)[0]));
    }

    #[test]
    fn after_misses_a_candidate_is_picked_among_the_first_misses_plus_one() {
        let c = Candidates::default();
        for _ in 0..50 {
            c.put("p", key("q"), (ids(10), 0), at(1000), at(0));
            c.missed("p", &key("q"));
            c.missed("p", &key("q"));
            let picked = c.next("p", &key("q"), at(1)).unwrap();
            assert!(
                ids(3).contains(&picked),
                "{picked:?} is beyond the first three"
            );
        }
    }
}
