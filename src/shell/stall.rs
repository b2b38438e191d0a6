//! A partition that stops moving while it has messages to read: a stall, told from an idle one.
//!
//! librdkafka can leave an assigned partition that has messages waiting without fetching them:
//! stuck waiting for its committed offset, for a leader epoch to validate, or in a fetch state
//! that never turns active again (confluentinc/librdkafka#4492, #843 and others). The process is
//! alive, heartbeats keep the group from moving the partition, and nothing is read: a chaos run of
//! 2026-12-06 left two partitions of an analyser unread for over five minutes. Kafka has no cure
//! for it but a new client, so a stall is treated like a fatal client error: the stage stops,
//! `/healthz` fails and the process exits non-zero, for the orchestrator to start it again (under
//! exactly once the broker aborts what it left open; under at least once the next start reads on
//! from the last commit).
//!
//! The signs come from librdkafka's statistics (`statistics.interval.ms`), per assigned partition:
//! its fetch state, the offset after the last message handed to the application (or, before the
//! first, the next to fetch), the next offset to fetch, the messages fetched and not yet taken,
//! and its end. A partition is judged only while the broker it waits on is reachable (its leader
//! once it fetches, the group coordinator while it waits for its committed offset): a broker that
//! is down or restarting is an outage, which the clients ride out, not a stall. It has stalled
//! when, for [`Stalls::new`]'s timeout, it has had messages to fetch (or no fetch position at
//! all), none fetched and waiting for the application (then the application is what is slow), and
//! neither its fetch state nor its position has changed. An idle partition (fetched to its end)
//! never stalls, and statistics that stopped coming (the application did not poll) start the wait
//! again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::Statistics;

use super::client::ClientCtx;
use crate::config::KafkaConfig;

/// What the statistics say of one assigned partition.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// librdkafka's fetch state: `active` once it fetches; `offset-query`, `offset-wait`,
    /// `validate-epoch-wait`, `stopped` ... otherwise.
    pub fetch_state: &'a str,
    /// The offset after the last message handed to the application, negative before the first.
    pub app_offset: i64,
    /// The next offset to fetch, negative while unknown.
    pub next_offset: i64,
    /// The partition's end for this reader (the last stable offset when it reads committed
    /// messages only, else the high watermark), negative while unknown.
    pub end: i64,
    /// Messages fetched and waiting in the client's queue for the application.
    pub queued: i64,
    /// Whether the broker the partition waits on is reachable: its leader's connection for a
    /// partition that fetches (or validates its leader's epoch), the group coordinator's for one
    /// still waiting for its committed offset.
    pub reachable: bool,
}

impl Seen<'_> {
    /// Where reading has got to.
    fn position(&self) -> i64 {
        if self.app_offset >= 0 {
            self.app_offset
        } else {
            self.next_offset
        }
    }

    /// Fetching, and fetched to the end: idle, not stalled. The fetch position decides, not the
    /// application's: a transactional input ends in a commit marker, which the fetch passes and
    /// no message hands to the application (librdkafka 2.12 moves the application's offset past
    /// it too, as `tests/kafka_memory.rs` sees; the rule does not lean on that).
    fn caught_up(&self) -> bool {
        self.fetch_state == "active" && self.end >= 0 && self.next_offset >= self.end
    }

    /// Whether not moving now can be the client's stall: its broker reachable, messages still to
    /// fetch, and none fetched and waiting (then the application is what is slow, not the
    /// client).
    fn judged(&self) -> bool {
        self.reachable && !self.caught_up() && !(self.fetch_state == "active" && self.queued > 0)
    }
}

/// A partition that stalled, as the statistics last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub topic: String,
    pub partition: i32,
    pub fetch_state: String,
    /// Where reading has got to (negative: no position).
    pub position: i64,
    /// The last stable offset (negative: unknown).
    pub end: i64,
    /// How long it has not moved.
    pub waited: Duration,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "partition {} [{}] has not moved for {:.0} s with messages to read: fetch state {}, \
             position {}, end {}",
            self.topic,
            self.partition,
            self.waited.as_secs_f64(),
            self.fetch_state,
            self.position,
            self.end,
        )
    }
}

/// Since when each assigned partition has been where it is.
#[derive(Debug)]
struct Track {
    fetch_state: String,
    position: i64,
    since: Instant,
    /// When statistics last came.
    last_seen: Instant,
}

/// The stall detector: fed the statistics of every interval, it says which partition stalled.
#[derive(Debug)]
pub struct Stalls {
    timeout: Duration,
    /// A longer silence between two statistics means they were not handled (the client is
    /// polled only while the application reads): what happened meanwhile is unknown, and the
    /// wait starts again.
    gap: Duration,
    tracks: HashMap<(String, i32), Track>,
}

impl Stalls {
    /// A detector for which a partition that has not moved for `timeout` has stalled, fed
    /// statistics every `interval`; a zero timeout turns it off.
    pub fn new(timeout: Duration, interval: Duration) -> Stalls {
        Stalls {
            timeout,
            gap: interval * 2 + Duration::from_secs(1),
            tracks: HashMap::new(),
        }
    }

    /// Records what the statistics say at `now` of an assigned partition; the stall, if it has.
    pub fn observe(
        &mut self,
        topic: &str,
        partition: i32,
        seen: &Seen<'_>,
        now: Instant,
    ) -> Option<Stall> {
        if self.timeout.is_zero() {
            return None;
        }
        let position = seen.position();
        let key = (topic.to_string(), partition);
        let gap = self.gap;
        let moved = |t: &Track| {
            t.fetch_state != seen.fetch_state
                || t.position != position
                || now.saturating_duration_since(t.last_seen) > gap
        };
        match self.tracks.get_mut(&key) {
            Some(t) if !moved(t) && seen.judged() => {
                t.last_seen = now;
                let waited = now.saturating_duration_since(t.since);
                (waited >= self.timeout).then(|| Stall {
                    topic: topic.to_string(),
                    partition,
                    fetch_state: seen.fetch_state.to_string(),
                    position,
                    end: seen.end,
                    waited,
                })
            }
            _ => {
                self.tracks.insert(
                    key,
                    Track {
                        fetch_state: seen.fetch_state.to_string(),
                        position,
                        since: now,
                        last_seen: now,
                    },
                );
                None
            }
        }
    }

    /// Forgets a partition no longer assigned: assigned again, it starts afresh.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.tracks.remove(&(topic.to_string(), partition));
    }
}

/// A consumer's stall detector as its callbacks hold it: the [`Stalls`] and how its client reads.
#[derive(Debug)]
pub struct Watch {
    stalls: Mutex<Stalls>,
    /// Whether the client reads committed messages only (its end is then the last stable
    /// offset, else the high watermark).
    read_committed: bool,
}

impl Watch {
    /// The detector of a consumer made with `k`'s settings.
    pub fn of(k: &KafkaConfig) -> Watch {
        Watch {
            stalls: Mutex::new(Stalls::new(k.stall_timeout(), k.statistics_interval())),
            read_committed: k.read_committed(),
        }
    }

    /// Forgets revoked partitions: assigned again, they start afresh.
    pub fn forget<'a>(&self, partitions: impl IntoIterator<Item = &'a (String, i32)>) {
        if let Ok(mut s) = self.stalls.lock() {
            for (topic, partition) in partitions {
                s.forget(topic, *partition);
            }
        }
    }

    /// Feeds a client's statistics of every partition it holds (`assigned`) to the detector. A
    /// stall stops the client's stage as a fatal error does, once: logged, kept as the cause, the
    /// client's `fatal` token cancelled.
    pub fn stats(
        &self,
        stats: &Statistics,
        assigned: &BTreeSet<(String, i32)>,
        client: &ClientCtx,
    ) {
        watch(
            &self.stalls,
            stats,
            |topic, partition| assigned.contains(&(topic.to_string(), partition)),
            self.read_committed,
            client,
            Instant::now(),
        )
    }
}

/// [`Watch::stats`] at `now`, `assigned` saying which partitions the client holds.
fn watch(
    stalls: &Mutex<Stalls>,
    stats: &Statistics,
    assigned: impl Fn(&str, i32) -> bool,
    read_committed: bool,
    client: &ClientCtx,
    now: Instant,
) {
    let Ok(mut stalls) = stalls.lock() else {
        return;
    };
    // A leader librdkafka knows (-1: none) among the brokers it learned from the metadata; the
    // group coordinator's own entry is a logical one, with node id -1.
    let leader_up = |leader: i32| {
        leader >= 0
            && stats
                .brokers
                .values()
                .any(|b| b.source == "learned" && b.nodeid == leader && b.state == "UP")
    };
    let coordinator_up = stats.cgrp.as_ref().map(|g| g.state == "up");
    for (topic, t) in &stats.topics {
        for (&partition, p) in &t.partitions {
            if partition < 0 || !assigned(topic, partition) {
                continue;
            }
            // A partition that has not started waits on the group coordinator (for its
            // committed offset), whose connection librdkafka keeps; the leader's may not be
            // opened until it fetches.
            let fetching = matches!(p.fetch_state.as_str(), "active" | "validate-epoch-wait");
            let reachable = match coordinator_up {
                Some(up) if !fetching => up,
                _ => leader_up(p.leader),
            };
            let seen = Seen {
                fetch_state: &p.fetch_state,
                app_offset: p.app_offset,
                next_offset: p.next_offset,
                end: if read_committed {
                    p.ls_offset
                } else {
                    p.hi_offset
                },
                queued: p.fetchq_cnt,
                reachable,
            };
            let Some(stall) = stalls.observe(topic, partition, &seen, now) else {
                continue;
            };
            if client.fatal.is_cancelled() {
                return;
            }
            tracing::error!(%stall, "partition stalled: stopping, for a new client to read it");
            if let Ok(mut c) = client.cause.lock() {
                c.get_or_insert_with(|| (client.name, format!("stalled: {stall}")));
            }
            client.fatal.cancel();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(120);
    const INTERVAL: Duration = Duration::from_secs(5);

    fn seen(fetch_state: &str, app_offset: i64, end: i64) -> Seen<'_> {
        Seen {
            fetch_state,
            app_offset,
            next_offset: app_offset,
            end,
            queued: 0,
            reachable: true,
        }
    }

    /// Feeds the same statistics every 5 s for `secs`; the first stall found.
    fn feed(stalls: &mut Stalls, s: &Seen<'_>, from: Instant, secs: u64) -> Option<Stall> {
        (0..=secs / 5).find_map(|i| stalls.observe("in", 2, s, from + Duration::from_secs(i * 5)))
    }

    #[test]
    fn a_partition_that_waits_for_its_offset_with_messages_to_read_stalls_after_the_timeout() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        let stuck = Seen {
            fetch_state: "offset-query",
            app_offset: -1001,
            next_offset: -1001,
            end: -1001,
            queued: 0,
            reachable: true,
        };
        assert_eq!(
            feed(&mut stalls, &stuck, t0, 115),
            None,
            "not before the timeout"
        );
        let stall = stalls
            .observe("in", 2, &stuck, t0 + Duration::from_secs(121))
            .expect("stalled");
        assert_eq!(stall.fetch_state, "offset-query");
        assert_eq!(stall.waited, Duration::from_secs(121));
        assert!(stall.to_string().contains("in [2]"), "{stall}");
    }

    #[test]
    fn an_active_partition_that_hands_out_nothing_while_behind_stalls() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        let behind = seen("active", 193, 839);
        let stall = feed(&mut stalls, &behind, t0, 200).expect("stalled");
        assert_eq!((stall.position, stall.end), (193, 839));
    }

    #[test]
    fn an_idle_partition_read_to_its_end_never_stalls() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        assert_eq!(feed(&mut stalls, &seen("active", 839, 839), t0, 600), None);
        // Before the first message, the next offset to fetch is the position.
        let fresh = Seen {
            next_offset: 839,
            ..seen("active", -1001, 839)
        };
        assert_eq!(feed(&mut stalls, &fresh, t0, 600), None);
    }

    #[test]
    fn an_idle_transactional_input_whose_last_offset_is_a_commit_marker_never_stalls() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        // The last message at 838, its transaction's commit marker at 839: fetched past, never
        // handed to the application.
        let idle = Seen {
            next_offset: 840,
            ..seen("active", 839, 840)
        };
        assert_eq!(feed(&mut stalls, &idle, t0, 600), None);
    }

    #[test]
    fn a_partition_that_moves_is_not_stalled_however_long_it_lags() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        for i in 0..100u64 {
            let at = seen("active", 100 + i as i64, 100_000);
            let now = t0 + Duration::from_secs(i * 5);
            assert_eq!(stalls.observe("in", 2, &at, now), None, "at {i}");
        }
    }

    #[test]
    fn a_leader_that_is_down_is_an_outage_not_a_stall_and_the_wait_starts_again_after_it() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        let down = Seen {
            reachable: false,
            ..seen("active", 193, 839)
        };
        assert_eq!(feed(&mut stalls, &down, t0, 300), None);
        // Back up at 300 s, still not moving: a stall only 120 s later.
        let up = seen("active", 193, 839);
        let back = t0 + Duration::from_secs(300);
        assert_eq!(feed(&mut stalls, &up, back, 115), None);
        assert!(stalls
            .observe("in", 2, &up, back + Duration::from_secs(125))
            .is_some());
    }

    #[test]
    fn a_change_of_fetch_state_or_a_forgotten_partition_starts_the_wait_again() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        assert_eq!(
            feed(&mut stalls, &seen("offset-query", -1001, -1001), t0, 100),
            None
        );
        let later = t0 + Duration::from_secs(100);
        assert_eq!(
            feed(&mut stalls, &seen("offset-wait", -1001, -1001), later, 100),
            None
        );
        stalls.forget("in", 2);
        let again = t0 + Duration::from_secs(200);
        assert_eq!(
            feed(&mut stalls, &seen("offset-wait", -1001, -1001), again, 100),
            None
        );
    }

    #[test]
    fn fetched_messages_the_application_has_not_taken_are_its_slowness_not_a_stall() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        let waiting = Seen {
            queued: 500,
            next_offset: 693,
            ..seen("active", 193, 839)
        };
        assert_eq!(feed(&mut stalls, &waiting, t0, 600), None);
    }

    #[test]
    fn statistics_that_stopped_coming_start_the_wait_again() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(TIMEOUT, INTERVAL);
        let behind = seen("active", 193, 839);
        assert_eq!(feed(&mut stalls, &behind, t0, 60), None);
        // Nothing for 300 s (the application did not poll), then the same figures: the wait
        // starts at their return, not before the silence.
        let back = t0 + Duration::from_secs(360);
        assert_eq!(feed(&mut stalls, &behind, back, 115), None);
        assert!(stalls
            .observe("in", 2, &behind, back + Duration::from_secs(125))
            .is_some());
    }

    #[test]
    fn a_zero_timeout_turns_it_off() {
        let t0 = Instant::now();
        let mut stalls = Stalls::new(Duration::ZERO, INTERVAL);
        assert_eq!(
            feed(&mut stalls, &seen("offset-query", -1001, 839), t0, 1000),
            None
        );
    }
}
