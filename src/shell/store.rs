//! The customer memory's embedded state store: one redb file per partition, holding each customer's
//! state (JSON, as the changelog carries it) and the changelog offset the store reflects up to
//! (its checkpoint, as Kafka Streams keeps one per store).
//!
//! A store is written only in batches that the changelog already acknowledged, together with the
//! new checkpoint, in one ACID transaction: after a crash the store is what the changelog said up
//! to its checkpoint, and restoring replays the changelog from there.

use std::path::{Path, PathBuf};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

/// Customer key -> state (JSON).
const CUSTOMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("customers");
/// `checkpoint` -> the next changelog offset to read.
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");

/// A store that can't be read or written.
#[derive(Debug, thiserror::Error)]
#[error("state store {path}: {message}")]
pub struct StoreError {
    pub path: PathBuf,
    pub message: String,
}

/// One partition's store.
pub struct PartitionStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for PartitionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionStore")
            .field("path", &self.path)
            .finish()
    }
}

/// The file of partition `p`'s store in `dir`.
pub fn path_of(dir: &Path, topic: &str, p: i32) -> PathBuf {
    dir.join(format!("{topic}-{p}.redb"))
}

impl PartitionStore {
    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<PartitionStore, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let db = Database::create(path).map_err(|e| fail(&e))?;
        let store = PartitionStore {
            db,
            path: path.to_path_buf(),
        };
        // Both tables exist from the start, so a read never meets a missing table.
        let w = store.db.begin_write().map_err(|e| store.err(e))?;
        {
            w.open_table(CUSTOMERS).map_err(|e| store.err(e))?;
            w.open_table(META).map_err(|e| store.err(e))?;
        }
        w.commit().map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// A customer's state, if the store has one.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(CUSTOMERS).map_err(|e| self.err(e))?;
        let v = t.get(key).map_err(|e| self.err(e))?;
        Ok(v.map(|v| v.value().to_vec()))
    }

    /// The next changelog offset to restore from; `None` for a store that never saw one.
    pub fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(META).map_err(|e| self.err(e))?;
        let v = t.get("checkpoint").map_err(|e| self.err(e))?;
        Ok(v.map(|v| v.value()))
    }

    /// When the checkpoint was last written (seconds since the epoch).
    pub fn written_at(&self) -> Result<Option<u64>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(META).map_err(|e| self.err(e))?;
        let v = t.get("written_at").map_err(|e| self.err(e))?;
        Ok(v.map(|v| u64::try_from(v.value()).unwrap_or(0)))
    }

    /// Writes changes (a state, or `None` to delete) and the new checkpoint in one transaction,
    /// durable on disk when it returns.
    pub fn write<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        checkpoint: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write_with(changes, checkpoint, Durability::Immediate)
    }

    /// [`write`](Self::write) without waiting for the disk: for the batches of a restore, whose
    /// last batch is written durably (a crash before it leaves an older checkpoint, and the
    /// restore replays from there).
    pub fn write_lazily<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        checkpoint: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write_with(changes, checkpoint, Durability::None)
    }

    fn write_with<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        checkpoint: Option<i64>,
        durability: Durability,
    ) -> Result<(), StoreError> {
        let mut w = self.db.begin_write().map_err(|e| self.err(e))?;
        w.set_durability(durability).map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(CUSTOMERS).map_err(|e| self.err(e))?;
            for (k, v) in changes {
                match v {
                    Some(v) => {
                        t.insert(k, v).map_err(|e| self.err(e))?;
                    }
                    None => {
                        t.remove(k).map_err(|e| self.err(e))?;
                    }
                }
            }
            if let Some(c) = checkpoint {
                let mut m = w.open_table(META).map_err(|e| self.err(e))?;
                m.insert("checkpoint", c).map_err(|e| self.err(e))?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                m.insert("written_at", i64::try_from(now).unwrap_or(i64::MAX))
                    .map_err(|e| self.err(e))?;
            }
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Empties the store (a changelog that no longer matches its checkpoint).
    pub fn clear(&self) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        w.delete_table(CUSTOMERS).map_err(|e| self.err(e))?;
        w.delete_table(META).map_err(|e| self.err(e))?;
        {
            w.open_table(CUSTOMERS).map_err(|e| self.err(e))?;
            w.open_table(META).map_err(|e| self.err(e))?;
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Customers in the store.
    pub fn len(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(CUSTOMERS).map_err(|e| self.err(e))?;
        t.len().map_err(|e| self.err(e))
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Every key in the store.
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(CUSTOMERS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, _) = row.map_err(|e| self.err(e))?;
            out.push(k.value().to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_deletes_checkpoints_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_of(dir.path(), "t", 3);
        {
            let s = PartitionStore::open(&path).unwrap();
            assert_eq!(s.checkpoint().unwrap(), None);
            s.write([("a", Some(&b"1"[..])), ("b", Some(&b"2"[..]))], Some(7))
                .unwrap();
            s.write([("a", None)], Some(9)).unwrap();
        }
        let s = PartitionStore::open(&path).unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.get("b").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(s.checkpoint().unwrap(), Some(9));
        assert_eq!(s.keys().unwrap(), ["b"]);
        s.clear().unwrap();
        assert!(s.is_empty().unwrap());
        assert_eq!(s.checkpoint().unwrap(), None);
    }
}
