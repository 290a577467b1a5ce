//! What the objects of a workflow are: records, big data, temporaries.
//!
//! Backends hand out [`StoredObject`]s with paths relative to the
//! workflow; this module sorts them by the layout every backend shares
//! (records at the top, big data under `bigdata/`, hidden names for
//! temporaries, leases under `.leases/`, access marks under `.access/`) and answers which big data a persistent id owns: the
//! object at its location, or every object under `location/` (a zarr
//! array is a prefix of many objects).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::SystemTime;

use crate::backend::StoredObject;
use crate::names::{ACCESS_DIR, BIGDATA_DIR, LEASES_DIR, validate_task};

/// What an object of a workflow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    /// A task's record.
    Record,
    /// Big data (a file or one object of an array) under `bigdata/`.
    BigData,
    /// A hidden temporary of a write (`.tmp-…`, `bigdata/.x.h5.tmp`).
    Temporary,
    /// A task's single-flight lease (`.leases/<task>`).
    Lease,
    /// When a task was last read (`.access/<task>`).
    AccessMark,
    /// Something other tools put there; maintenance leaves it alone.
    Foreign,
}

/// Sorts a path from [`StorageBackend::scan`](crate::StorageBackend::scan).
pub(crate) fn classify(path: &str) -> ObjectKind {
    match path.split_once('/') {
        None if path.starts_with('.') => ObjectKind::Temporary,
        None if validate_task(path).is_ok() => ObjectKind::Record,
        Some((BIGDATA_DIR, key)) if key.starts_with('.') => ObjectKind::Temporary,
        Some((BIGDATA_DIR, key)) if !key.is_empty() => ObjectKind::BigData,
        Some((LEASES_DIR, task)) if validate_task(task).is_ok() => ObjectKind::Lease,
        Some((ACCESS_DIR, task)) if validate_task(task).is_ok() => ObjectKind::AccessMark,
        _ => ObjectKind::Foreign,
    }
}

/// A workflow's scanned objects, sorted by kind.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Task name → record object.
    pub(crate) records: BTreeMap<String, StoredObject>,
    /// Key under `bigdata/` → object.
    pub(crate) big_data: BTreeMap<String, StoredObject>,
    pub(crate) temporaries: Vec<StoredObject>,
    pub(crate) leases: Vec<StoredObject>,
    /// Task name → its access mark.
    pub(crate) access_marks: BTreeMap<String, StoredObject>,
}

impl Layout {
    pub(crate) fn new(objects: Vec<StoredObject>) -> Self {
        let mut layout = Self::default();
        for object in objects {
            match classify(&object.path) {
                ObjectKind::Record => {
                    layout.records.insert(object.path.clone(), object);
                }
                ObjectKind::BigData => {
                    let key = object.path[BIGDATA_DIR.len() + 1..].to_owned();
                    layout.big_data.insert(key, object);
                }
                ObjectKind::Temporary => layout.temporaries.push(object),
                ObjectKind::Lease => layout.leases.push(object),
                ObjectKind::AccessMark => {
                    let task = object.path[ACCESS_DIR.len() + 1..].to_owned();
                    layout.access_marks.insert(task, object);
                }
                ObjectKind::Foreign => {}
            }
        }
        layout
    }

    /// The big-data objects a persistent id at `location` owns: the key
    /// itself and every key under `location/`.
    pub(crate) fn owned_by<'a>(
        &'a self,
        location: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a StoredObject)> + 'a {
        let exact = self.big_data.get_key_value(location);
        let under = format!("{location}/");
        let nested = self
            .big_data
            .range::<str, _>((Bound::Included(under.as_str()), Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(&under));
        exact.into_iter().chain(nested)
    }

    /// Total size and object count of what `location` owns.
    pub(crate) fn size_of(&self, location: &str) -> (u64, usize) {
        self.owned_by(location)
            .fold((0, 0), |(size, count), (_, object)| {
                (size + object.size, count + 1)
            })
    }

    /// Bytes of records and big data: what checking or copying reads.
    pub(crate) fn data_bytes(&self) -> u64 {
        self.records
            .values()
            .chain(self.big_data.values())
            .map(|object| object.size)
            .sum()
    }

    /// The newest modification time among everything.
    pub(crate) fn last_modified(&self) -> Option<SystemTime> {
        self.records
            .values()
            .chain(self.big_data.values())
            .chain(&self.temporaries)
            .filter_map(|object| object.modified)
            .max()
    }
}

/// Whether `key` (relative to `bigdata/`) is owned by one of `locations`:
/// it is one, or lies under one.
pub(crate) fn is_owned(key: &str, locations: &std::collections::HashSet<String>) -> bool {
    if locations.contains(key) {
        return true;
    }
    key.match_indices('/')
        .any(|(at, _)| locations.contains(&key[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(path: &str, size: u64) -> StoredObject {
        StoredObject {
            path: path.to_owned(),
            size,
            modified: None,
        }
    }

    #[test]
    fn sorts_paths_by_the_shared_layout() {
        assert_eq!(classify("task"), ObjectKind::Record);
        assert_eq!(classify(".tmp-1-2"), ObjectKind::Temporary);
        assert_eq!(classify("bigdata/x.h5"), ObjectKind::BigData);
        assert_eq!(classify("bigdata/a.zarr/c/0/1"), ObjectKind::BigData);
        assert_eq!(classify("bigdata/.x.h5.tmp"), ObjectKind::Temporary);
        assert_eq!(classify("bigdata"), ObjectKind::Foreign);
        assert_eq!(classify("bigdata/"), ObjectKind::Foreign);
        assert_eq!(classify("other/x"), ObjectKind::Foreign);
        assert_eq!(classify(".leases/task"), ObjectKind::Lease);
        assert_eq!(classify(".access/task"), ObjectKind::AccessMark);
        assert_eq!(classify(".access/a/b"), ObjectKind::Foreign);
        assert_eq!(classify(".access/.x"), ObjectKind::Foreign);
    }

    #[test]
    fn a_location_owns_itself_and_what_lies_under_it() {
        let layout = Layout::new(vec![
            object("bigdata/a.zarr/zarr.json", 10),
            object("bigdata/a.zarr/c/0", 100),
            object("bigdata/a.zarr2/zarr.json", 1000),
            object("bigdata/a.zarr.h5", 5),
            object("bigdata/b.h5", 7),
            object("t", 3),
        ]);
        assert_eq!(layout.size_of("a.zarr"), (110, 2));
        assert_eq!(layout.size_of("b.h5"), (7, 1));
        assert_eq!(layout.size_of("missing"), (0, 0));
        let locations = ["a.zarr".to_owned()].into_iter().collect();
        assert!(is_owned("a.zarr/c/0", &locations));
        assert!(is_owned("a.zarr", &locations));
        assert!(!is_owned("a.zarr2/zarr.json", &locations));
        assert!(!is_owned("a.zarr.h5", &locations));
    }
}
