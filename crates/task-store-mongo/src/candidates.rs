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
//!   time plus [`MongoOptions::claim_batch_max_age`](crate::MongoOptions);
//! - whenever this store writes something that can make a task of the pool
//!   claimable or change the order (`forget`);
//! - when a recheck finds an expired lease (below).
//!
//! A list is also *rechecked* at its `recheck_at`: the first lease expiry
//! the list does not contain (a running task of `from` whose lease was live
//! at the read or the last recheck, or a lease this store handed out since).
//! From then on a claim that takes from the list first asks the server
//! whether a lease from `from` (matching the query) has expired: if one has,
//! the list is dropped and read again, so an expired lease is never claimed
//! late; if none has (the usual case: the leases were committed or
//! heartbeated), the list stays and its next `recheck_at` is the next live
//! lease's expiry. A recheck is two unsorted reads (the first expired lease;
//! the first live one's expiry), where a new list is a sorted read of every
//! claimable task: on mongo-java-server, with 80,000 waiting tasks and 2 s
//! leases, a fraction of the cost (BENCHMARKS.md).
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
    /// When to ask the server for expired leases before the next take.
    recheck_at: Timestamp,
    /// The earliest lease this store handed out since the last (re)check
    /// began: a recheck's own expiry read may not have seen it.
    leased_since_check: Option<Timestamp>,
    /// Candidates of this list found taken by another process.
    misses: usize,
}

/// What [`Candidates::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The candidate to claim.
    Take(Candidate),
    /// The list is due for a recheck (see the module docs) first.
    Recheck,
    /// No valid list: read one.
    Read,
}

impl Candidates {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<CandidateList>>> {
        self.lists.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the next candidate of `pool`'s list for `key`, if there is a
    /// list still valid at `now` (dropping it when it is empty or expired)
    /// and not due for a recheck.
    pub(crate) fn next(&self, pool: &str, key: &ListKey, now: Timestamp) -> Next {
        let mut lists = self.lock();
        let Some(pool_lists) = lists.get_mut(pool) else {
            return Next::Read;
        };
        pool_lists.retain(|l| now < l.valid_until && !l.ids.is_empty());
        let Some(list) = pool_lists.iter_mut().find(|l| &l.key == key) else {
            return Next::Read;
        };
        if now >= list.recheck_at {
            return Next::Recheck;
        }
        let spread = list.misses.min(list.ids.len() - 1);
        let at = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        list.ids.remove(at).map_or(Next::Read, Next::Take)
    }

    /// Whether `pool` has a list for `key` with candidates left at `now`,
    /// not due for a recheck.
    pub(crate) fn has(&self, pool: &str, key: &ListKey, now: Timestamp) -> bool {
        self.lock().get(pool).is_some_and(|ls| {
            ls.iter().any(|l| {
                &l.key == key && now < l.valid_until && now < l.recheck_at && !l.ids.is_empty()
            })
        })
    }

    /// Whether `pool`'s list for `key` is still due for a recheck at `now`
    /// (and so still there); if so, marks the recheck begun (leases handed
    /// out from now on are remembered apart) and returns the generation to
    /// pass to [`Candidates::rechecked`].
    pub(crate) fn begin_recheck(&self, pool: &str, key: &ListKey, now: Timestamp) -> Option<u64> {
        let mut lists = self.lock();
        let list = lists
            .get_mut(pool)?
            .iter_mut()
            .find(|l| &l.key == key && now < l.valid_until && now >= l.recheck_at)?;
        list.leased_since_check = None;
        Some(self.generation())
    }

    /// A recheck begun at `generation` found no expired lease: `pool`'s list
    /// for `key` stays until `next_expiry` (the first live lease's, if any)
    /// or the earliest lease this store handed out since the recheck began.
    pub(crate) fn rechecked(
        &self,
        pool: &str,
        key: &ListKey,
        generation: u64,
        next_expiry: Option<Timestamp>,
    ) {
        let mut lists = self.lock();
        if self.generation() != generation {
            return;
        }
        if let Some(list) = lists
            .get_mut(pool)
            .and_then(|ls| ls.iter_mut().find(|l| &l.key == key))
        {
            let mut at = next_expiry.unwrap_or(list.valid_until);
            if let Some(leased) = list.leased_since_check {
                at = at.min(leased);
            }
            list.recheck_at = at;
        }
    }

    /// Drop `pool`'s list for `key` (a recheck found an expired lease).
    pub(crate) fn drop_list(&self, pool: &str, key: &ListKey) {
        if let Some(pool_lists) = self.lock().get_mut(pool) {
            pool_lists.retain(|l| &l.key != key);
        }
    }

    /// The generation to pass to [`Candidates::put`] for a list read from
    /// now on.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Install a list for `key` read since `generation` (replacing an older
    /// one), valid until `valid_until` and to be rechecked at `recheck_at`,
    /// unless this store wrote to a pool since, and drop the pool's lists
    /// that expired by `now`.
    pub(crate) fn put(
        &self,
        pool: &str,
        key: ListKey,
        list: (Vec<Candidate>, u64),
        (valid_until, recheck_at): (Timestamp, Timestamp),
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
            recheck_at: recheck_at.min(valid_until),
            leased_since_check: None,
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

    /// This store handed out a lease on `pool` expiring at `expires_at`:
    /// every list of the pool is rechecked by then at the latest (the task
    /// is claimable again then, unless its lease was extended or ended).
    pub(crate) fn leased(&self, pool: &str, expires_at: Timestamp) {
        if let Some(pool_lists) = self.lock().get_mut(pool) {
            for list in pool_lists {
                list.recheck_at = list.recheck_at.min(expires_at);
                list.leased_since_check = Some(
                    list.leased_since_check
                        .map_or(expires_at, |t| t.min(expires_at)),
                );
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

    /// A list valid until 1000, rechecked at `recheck`.
    fn put(c: &Candidates, pool: &str, k: &ListKey, n: u8, recheck: i64) {
        c.put(
            pool,
            k.clone(),
            (ids(n), c.generation()),
            (at(1000), at(recheck)),
            at(0),
        );
    }

    fn take(c: &Candidates, pool: &str, k: &ListKey, now: i64) -> Option<Candidate> {
        match c.next(pool, k, at(now)) {
            Next::Take(candidate) => Some(candidate),
            _ => None,
        }
    }

    #[test]
    fn candidates_come_in_list_order_until_the_list_is_empty() {
        let c = Candidates::default();
        put(&c, "p", &key("q"), 3, 1000);
        assert!(c.has("p", &key("q"), at(10)));
        let taken: Vec<_> = std::iter::from_fn(|| take(&c, "p", &key("q"), 10)).collect();
        assert_eq!(taken, ids(3));
        assert_eq!(c.next("p", &key("q"), at(10)), Next::Read);
        assert!(!c.has("p", &key("q"), at(10)));
    }

    #[test]
    fn a_list_is_dropped_at_valid_until_and_on_forget() {
        let c = Candidates::default();
        put(&c, "p", &key("q"), 3, 1000);
        assert_eq!(c.next("p", &key("q"), at(1000)), Next::Read, "expired");
        put(&c, "p", &key("q"), 3, 1000);
        c.forget("p");
        assert_eq!(c.next("p", &key("q"), at(1)), Next::Read, "forgotten");
    }

    #[test]
    fn a_list_read_before_a_write_is_not_installed() {
        let c = Candidates::default();
        let generation = c.generation();
        c.forget("p");
        c.put(
            "p",
            key("q"),
            (ids(3), generation),
            (at(1000), at(1000)),
            at(0),
        );
        assert_eq!(c.next("p", &key("q"), at(1)), Next::Read);
    }

    #[test]
    fn a_list_is_rechecked_at_the_first_lease_expiry_it_does_not_contain() {
        let c = Candidates::default();
        put(&c, "p", &key("q"), 3, 300);
        assert!(take(&c, "p", &key("q"), 299).is_some());
        assert_eq!(c.next("p", &key("q"), at(300)), Next::Recheck);
        assert!(!c.has("p", &key("q"), at(300)));
        // No expired lease: the list stays until the next live lease's expiry.
        let generation = c.begin_recheck("p", &key("q"), at(300)).unwrap();
        c.rechecked("p", &key("q"), generation, Some(at(700)));
        assert!(take(&c, "p", &key("q"), 699).is_some());
        assert_eq!(c.next("p", &key("q"), at(700)), Next::Recheck);
        // An expired lease: the list is dropped and read again.
        c.drop_list("p", &key("q"));
        assert_eq!(c.next("p", &key("q"), at(700)), Next::Read);
    }

    #[test]
    fn a_recheck_is_done_once_and_not_after_a_write() {
        let c = Candidates::default();
        put(&c, "p", &key("q"), 3, 300);
        let generation = c.begin_recheck("p", &key("q"), at(300)).unwrap();
        c.rechecked("p", &key("q"), generation, None);
        assert_eq!(
            c.begin_recheck("p", &key("q"), at(300)),
            None,
            "done already"
        );
        assert!(take(&c, "p", &key("q"), 999).is_some(), "until valid_until");
        put(&c, "p", &key("q"), 3, 300);
        let generation = c.begin_recheck("p", &key("q"), at(300)).unwrap();
        c.forget("p");
        c.rechecked("p", &key("q"), generation, Some(at(900)));
        assert_eq!(c.next("p", &key("q"), at(301)), Next::Read);
    }

    #[test]
    fn a_lease_handed_out_caps_every_list_of_its_pool_also_during_a_recheck() {
        let c = Candidates::default();
        put(&c, "p", &key("a"), 3, 1000);
        put(&c, "p", &key("b"), 3, 1000);
        put(&c, "other", &key("a"), 3, 1000);
        c.leased("p", at(500));
        assert_eq!(c.next("p", &key("a"), at(500)), Next::Recheck);
        assert_eq!(c.next("p", &key("b"), at(500)), Next::Recheck);
        assert!(take(&c, "other", &key("a"), 500).is_some());
        // A lease handed out while a recheck reads caps what it installs.
        let generation = c.begin_recheck("p", &key("a"), at(500)).unwrap();
        c.leased("p", at(600));
        c.rechecked("p", &key("a"), generation, Some(at(900)));
        assert!(take(&c, "p", &key("a"), 599).is_some());
        assert_eq!(c.next("p", &key("a"), at(600)), Next::Recheck);
    }

    #[test]
    fn lists_are_per_status_and_query() {
        let c = Candidates::default();
        put(&c, "p", &key("a"), 1, 1000);
        assert_eq!(c.next("p", &key("b"), at(1)), Next::Read);
        let part_done = ListKey {
            from: Status::PartDone,
            query: "a".into(),
        };
        assert_eq!(c.next("p", &part_done, at(1)), Next::Read);
        assert_eq!(take(&c, "p", &key("a"), 1), Some(ids(1)[0]));
    }

    #[test]
    fn after_misses_a_candidate_is_picked_among_the_first_misses_plus_one() {
        let c = Candidates::default();
        for _ in 0..50 {
            put(&c, "p", &key("q"), 10, 1000);
            c.missed("p", &key("q"));
            c.missed("p", &key("q"));
            let picked = take(&c, "p", &key("q"), 1).unwrap();
            assert!(
                ids(3).contains(&picked),
                "{picked:?} is beyond the first three"
            );
        }
    }
}
