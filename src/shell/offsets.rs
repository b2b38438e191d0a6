//! Which offsets may be committed: per partition, only the contiguous prefix of messages whose
//! output the broker has acknowledged. Storing offset `i + n` before `i` is done would lose `[i, i+n)`
//! on a crash, so an early acknowledgement waits for the ones before it.
//!
//! A revoked partition's state is dropped and its generation bumped: acknowledgements of work started
//! before the revoke no longer move its offset (that work is redelivered to the new owner, and its
//! insight ids are the same, so downstream sees identical duplicates at worst).

use std::collections::{BTreeMap, HashMap};

/// Identifies one tracked message: give it back to [`OffsetTracker::ack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    generation: u64,
}

#[derive(Default)]
struct Partition {
    generation: u64,
    /// Offsets started and not yet committed-through, with whether each is acknowledged.
    pending: BTreeMap<i64, bool>,
}

#[derive(Default)]
pub struct OffsetTracker {
    partitions: HashMap<(String, i32), Partition>,
    next_generation: u64,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking a consumed message.
    pub fn start(&mut self, topic: &str, partition: i32, offset: i64) -> Ticket {
        let next_generation = &mut self.next_generation;
        let p = self
            .partitions
            .entry((topic.to_string(), partition))
            .or_insert_with(|| {
                *next_generation += 1;
                Partition {
                    generation: *next_generation,
                    ..Partition::default()
                }
            });
        p.pending.insert(offset, false);
        Ticket {
            topic: topic.to_string(),
            partition,
            offset,
            generation: p.generation,
        }
    }

    /// Marks a message's output acknowledged. Returns the offset to store for its partition (the
    /// next offset to read) when the contiguous acknowledged prefix grew, else `None`.
    pub fn ack(&mut self, t: &Ticket) -> Option<i64> {
        let p = self.partitions.get_mut(&(t.topic.clone(), t.partition))?;
        if p.generation != t.generation {
            return None;
        }
        *p.pending.get_mut(&t.offset)? = true;
        let mut next = None;
        while let Some(entry) = p.pending.first_entry() {
            if !*entry.get() {
                break;
            }
            next = Some(*entry.key() + 1);
            entry.remove();
        }
        next
    }

    /// Forgets a revoked partition; acknowledgements of its earlier work are ignored from now on.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.partitions.remove(&(topic.to_string(), partition));
    }

    /// Messages started and not yet acknowledged, over all partitions.
    pub fn outstanding(&self) -> usize {
        self.partitions
            .values()
            .map(|p| p.pending.values().filter(|done| !**done).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_contiguous_prefix_is_committable() {
        let mut t = OffsetTracker::new();
        let a = t.start("in", 0, 10);
        let b = t.start("in", 0, 11);
        let c = t.start("in", 0, 12);
        let other = t.start("in", 1, 5);
        assert_eq!(t.ack(&c), None, "12 done but 10 and 11 are not");
        assert_eq!(t.ack(&a), Some(11));
        assert_eq!(t.ack(&b), Some(13), "11 completes the prefix through 12");
        assert_eq!(t.ack(&other), Some(6));
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn revoked_work_does_not_move_offsets() {
        let mut t = OffsetTracker::new();
        let old = t.start("in", 0, 1);
        t.revoke("in", 0);
        let new = t.start("in", 0, 1);
        assert_eq!(t.ack(&old), None);
        assert_eq!(t.outstanding(), 1);
        assert_eq!(t.ack(&new), Some(2));
    }
}
