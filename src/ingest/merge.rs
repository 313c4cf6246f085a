//! One run from several files: the rows of every file merged by test id, the worst outcome
//! winning across files ([`severity`]) while the executions within one file stay apart
//! ([`Merger`]), ids found by a 64-bit hash ([`hash_id`]). The rules are said in the docs of
//! [`super`] (# One run from several files).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::history::NewResult;
use crate::results::Outcome;

/// How bad an outcome is, for "failure wins" when a test appears in several files.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Fail => 7,
        Outcome::Error => 6,
        Outcome::FlakyPass => 5,
        Outcome::Xpass => 4,
        Outcome::Pass => 3,
        Outcome::Xfail => 2,
        Outcome::Skip => 1,
        Outcome::NotRun => 0,
    }
}

const NONE: u32 = u32::MAX;

/// Where the rows of one test id are.
struct Slot {
    /// The file of its rows, or [`NONE`] once rows of several files were merged into `head`.
    file: u32,
    head: u32,
    tail: u32,
    /// The next slot whose id has the same hash ([`NONE`] at the end).
    same_hash: u32,
}

/// Rows of one run, merged across files. The rows of each file are appended to
/// [`Merger::rows`] as they are read, then indexed in place ([`Merger::index_file`]); a row
/// merged into another file's row stays behind, emptied, until [`Merger::finish`]. Ids are
/// found by a 64-bit hash (collisions are resolved by comparing the ids), so that no id is
/// copied.
#[derive(Default)]
pub(super) struct Merger {
    pub(super) rows: Vec<NewResult>,
    /// The next row of the same test in the same file ([`NONE`] at the end).
    next: Vec<u32>,
    alive: Vec<bool>,
    /// Whether a row was merged into another (so that [`Merger::finish`] leaves some out).
    merged: bool,
    slots: Vec<Slot>,
    by_hash: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
}

impl Merger {
    /// A merger with room for `rows` rows.
    pub(super) fn with_capacity(rows: usize) -> Merger {
        Merger {
            rows: Vec::with_capacity(rows),
            next: Vec::with_capacity(rows),
            alive: Vec::with_capacity(rows),
            by_hash: HashMap::with_capacity_and_hasher(rows, BuildHasherDefault::default()),
            slots: Vec::with_capacity(rows),
            merged: false,
        }
    }

    /// A merger holding `rows`, not indexed yet (see [`Merger::index_file`]).
    pub(super) fn of_rows(rows: Vec<NewResult>) -> Merger {
        Merger {
            rows,
            ..Merger::default()
        }
    }

    /// The slot of the test of row `index`, if an earlier row had it.
    fn find(&self, hash: u64, index: usize) -> Option<usize> {
        let test = &self.rows[index].test;
        let mut cursor = *self.by_hash.get(&hash)?;
        while cursor != NONE {
            let slot = &self.slots[cursor as usize];
            if self.rows[slot.head as usize].test == *test {
                return Some(cursor as usize);
            }
            cursor = slot.same_hash;
        }
        None
    }

    /// Indexes the rows from `start` on, those of `file`.
    pub(super) fn index_file(&mut self, file: u32, start: usize) {
        for index in start..self.rows.len() {
            let hash = hash_id(&self.rows[index].test);
            self.index(file, index, hash);
        }
    }

    /// Indexes row `index` (the next one not indexed yet), of `file`, whose id hashes to `hash`.
    fn index(&mut self, file: u32, index: usize, hash: u64) {
        debug_assert_eq!(index, self.next.len());
        self.next.push(NONE);
        self.alive.push(true);
        let index32 = index as u32;
        match self.find(hash, index) {
            None => {
                let slot = self.slots.len() as u32;
                let same_hash = self.by_hash.insert(hash, slot).unwrap_or(NONE);
                self.slots.push(Slot {
                    file,
                    head: index32,
                    tail: index32,
                    same_hash,
                });
            }
            Some(slot) if self.slots[slot].file == file => {
                // Another execution in the same file.
                let tail = self.slots[slot].tail as usize;
                self.next[tail] = index32;
                self.slots[slot].tail = index32;
            }
            Some(slot) => {
                // Another file: everything of this test becomes one row, the first.
                let head = self.slots[slot].head as usize;
                let mut cursor = self.next[head];
                self.next[head] = NONE;
                while cursor != NONE {
                    let other = cursor as usize;
                    cursor = self.next[other];
                    self.take_into(head, other);
                }
                self.take_into(head, index);
                self.slots[slot].file = NONE;
                self.slots[slot].tail = self.slots[slot].head;
            }
        }
    }

    /// Merges row `other` into row `head` ("failure wins"); `other` stays behind, empty (no
    /// allocation), left out by [`Merger::finish`].
    fn take_into(&mut self, head: usize, other: usize) {
        self.alive[other] = false;
        self.merged = true;
        let row = std::mem::replace(
            &mut self.rows[other],
            NewResult::new(String::new(), Outcome::NotRun),
        );
        merge_into(&mut self.rows[head], row);
    }

    pub(super) fn finish(self) -> Vec<NewResult> {
        if !self.merged {
            return self.rows;
        }
        self.rows
            .into_iter()
            .zip(self.alive)
            .filter_map(|(row, alive)| alive.then_some(row))
            .collect()
    }
}

/// A 64-bit hash of an id (FxHash over 8-byte words, then a 64-bit finalizer): fast, and
/// collisions only cost a comparison.
fn hash_id(id: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let bytes = id.as_bytes();
    let mut hash = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // murmur3's fmix64, so that every bit of the key depends on every input bit.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Keeps the worse of two executions of one test in `into`, with the union of their tags.
fn merge_into(into: &mut NewResult, other: NewResult) {
    if let (Some(tags), Some(other_tags)) = (into.tags.as_mut(), other.tags.as_ref()) {
        for tag in other_tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }
    if severity(other.outcome) > severity(into.outcome) {
        let tags = into.tags.take();
        *into = NewResult { tags, ..other };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_the_same_hash_stay_apart() {
        let mut merger = Merger::default();
        // Every id hashes to 7 here.
        let mut add = |file, test: &str, outcome| {
            merger.rows.push(NewResult::new(test, outcome));
            merger.index(file, merger.rows.len() - 1, 7);
        };
        add(0, "a", Outcome::Pass);
        add(0, "b", Outcome::Pass);
        add(0, "c", Outcome::Pass);
        add(1, "b", Outcome::Fail);
        add(1, "c", Outcome::Skip);
        add(1, "d", Outcome::Pass);
        let rows: Vec<(String, Outcome)> = merger
            .finish()
            .into_iter()
            .map(|row| (row.test, row.outcome))
            .collect();
        assert_eq!(
            rows,
            [
                ("a".to_owned(), Outcome::Pass),
                ("b".to_owned(), Outcome::Fail),
                ("c".to_owned(), Outcome::Pass),
                ("d".to_owned(), Outcome::Pass),
            ]
        );
        assert_ne!(hash_id("ab"), hash_id("ba"));
    }
}
