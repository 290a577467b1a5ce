//! A damaged length field never makes a read allocate much: records and
//! payloads whose length fields claim gigabytes are refused after at most
//! a few megabytes of allocation. Measured with a counting allocator, so
//! this binary holds this one test.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use functionfuse::record::{self, RecordHeader};
use functionfuse::{Error, Storage};
use functionfuse_tests::{file_storage, reseal, s3_storage};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: as the caller promised for `self`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as the caller promised for `self`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `read` and returns how many bytes above what was in use it peaked at.
fn peak_of<T>(read: impl FnOnce() -> T) -> (T, usize) {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = read();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

/// A valid record (checksum and all) around `payload`.
fn record_with(payload: &[u8]) -> Vec<u8> {
    let header = RecordHeader {
        type_name: "crafted".into(),
        persistent_ids: vec![],
        created_ns: 0,
        key: None,
        fingerprint: None,
        reason: None,
    };
    record::encode(&header, payload).unwrap()
}

const LIMIT: usize = 8 << 20;

fn check(storage: &Storage) {
    let huge = u32::MAX.to_be_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "array32 of 4 billion u64",
            [&[0xdd][..], &huge, &[1, 2, 3]].concat(),
        ),
        ("str32 of 4 GiB", [&[0xdb][..], &huge, b"abc"].concat()),
        ("bin32 of 4 GiB", [&[0xc6][..], &huge, b"abc"].concat()),
        (
            "map32 of 4 billion entries",
            [&[0xdf][..], &huge, &[1, 2]].concat(),
        ),
        ("ext32 of 4 GiB", [&[0xc9][..], &huge, &[5, 1]].concat()),
    ];
    for (what, payload) in cases {
        storage
            .backend()
            .put("alloc", "t", &record_with(&payload))
            .unwrap();
        let (vec, peak) = peak_of(|| storage.read_task::<Vec<u64>>("alloc", "t"));
        assert!(vec.is_err(), "{what}: read as Vec<u64>");
        assert!(
            peak < LIMIT,
            "{what}: reading as Vec<u64> allocated {peak} bytes"
        );
        let (text, peak) = peak_of(|| storage.read_task::<String>("alloc", "t"));
        assert!(text.is_err(), "{what}: read as String");
        assert!(
            peak < LIMIT,
            "{what}: reading as String allocated {peak} bytes"
        );
        let (bytes, peak) = peak_of(|| storage.read_task::<serde_bytes::ByteBuf>("alloc", "t"));
        assert!(bytes.is_err(), "{what}: read as bytes");
        assert!(
            peak < LIMIT,
            "{what}: reading as bytes allocated {peak} bytes"
        );
        let (map, peak) =
            peak_of(|| storage.read_task::<std::collections::HashMap<u64, u64>>("alloc", "t"));
        assert!(map.is_err(), "{what}: read as a map");
        assert!(
            peak < LIMIT,
            "{what}: reading as a map allocated {peak} bytes"
        );
        let (shown, peak) = peak_of(|| {
            storage.inspect_task(
                "alloc",
                "t",
                &functionfuse::maintenance::view::ViewOptions::default(),
            )
        });
        assert!(
            matches!(shown, Err(Error::CorruptRecord { .. })),
            "{what}: {shown:?}"
        );
        assert!(peak < LIMIT, "{what}: showing it allocated {peak} bytes");
    }
    // A header length field claiming 4 GiB, checksum fixed.
    let crafted = reseal(&record_with(&[0xc0]), |body| {
        body[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    });
    storage.backend().put("alloc", "t", &crafted).unwrap();
    let (result, peak) = peak_of(|| storage.read_task::<u8>("alloc", "t"));
    assert!(
        matches!(result, Err(Error::CorruptRecord { .. })),
        "{result:?}"
    );
    assert!(
        peak < LIMIT,
        "a header length of 4 GiB allocated {peak} bytes"
    );
}

#[test]
fn damaged_length_fields_never_allocate_gigabytes() {
    // The counter sees what it should: a 16 MiB buffer peaks above the limit.
    let (buffer, peak) = peak_of(|| vec![1_u8; 16 << 20]);
    assert!(
        peak >= buffer.len() && peak > LIMIT,
        "the allocator counted {peak}"
    );
    drop(buffer);
    let (file, _folder) = file_storage();
    check(&file);
    let (s3, _) = s3_storage();
    check(&s3);
}
