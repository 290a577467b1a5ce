//! The fuzz targets: each takes arbitrary bytes and must neither panic nor
//! break an invariant. `cargo xtask fuzz --seconds N` runs them under
//! AFL++ (cargo-afl, which works on stable Rust); `tests/replay.rs` runs
//! every input kept in `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/`
//! as a normal test in CI.

// A broken invariant must stop the fuzzer: that is what a target panics for.
#![allow(clippy::panic)]

use functionfuse_core::maintenance::view::{ViewOptions, payload_to_json};
use functionfuse_core::record::{self, RecordHeader};
use functionfuse_core::{FILE_PROTOCOL, PersistentId};

/// A fuzz target: arbitrary bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets by name, as the folders under `fuzz/corpus/` name them.
pub const TARGETS: &[(&str, Target)] = &[("record", record), ("header", header), ("view", view)];

/// The record decoder: any bytes decode or are refused; what decodes
/// encodes back to the same header and payload. The input is tried as it
/// is and with its last four bytes replaced by the right checksum, so that
/// mutations get past the checksum to the header and payload checks.
pub fn record(data: &[u8]) {
    check_record(data);
    if data.len() >= 4 {
        let body = &data[..data.len() - 4];
        let mut sealed = body.to_vec();
        sealed.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        check_record(&sealed);
    }
}

fn check_record(data: &[u8]) {
    if let Ok(decoded) = record::decode(data) {
        let again = record::encode(&decoded.header, decoded.payload)
            .unwrap_or_else(|e| panic!("a decoded header does not encode: {e}"));
        // The header's MessagePack may be written differently (e.g. a
        // shorter integer), so compare what it means.
        let reread =
            record::decode(&again).unwrap_or_else(|e| panic!("re-encoded record refused: {e}"));
        assert_eq!(reread.header, decoded.header);
        assert_eq!(reread.payload, decoded.payload);
        // The header decoder agrees with the full decoder.
        assert_eq!(
            record::decode_header(data).ok().as_ref(),
            Some(&decoded.header)
        );
    }
}

/// The header decoder (read from a record's start, without checksum).
pub fn header(data: &[u8]) {
    let _ = record::decode_header(data);
    let _ = record::header_len(data);
}

/// The payload view `ffuse show` prints, with a header naming two objects.
pub fn view(data: &[u8]) {
    let header = RecordHeader {
        type_name: "fuzzed".into(),
        persistent_ids: (0..2)
            .map(|i| PersistentId {
                serializer: "ndarray".into(),
                version: 1,
                location: format!("{i}.h5"),
                protocol: FILE_PROTOCOL.into(),
                metadata: serde_json::Map::new(),
            })
            .collect(),
        created_ns: 0,
        key: None,
        fingerprint: None,
        reason: None,
    };
    let Ok(value) = rmpv::decode::read_value(&mut &data[..]) else {
        return;
    };
    for options in [
        ViewOptions::default(),
        ViewOptions {
            max_items: 0,
            preview_bytes: 0,
        },
        ViewOptions {
            max_items: usize::MAX,
            preview_bytes: 64,
        },
    ] {
        let Ok(json) = payload_to_json(data, &header, &options) else {
            continue;
        };
        // Long arrays and maps show `max_items` items and one line saying
        // how many more there are.
        let shown = |len: usize| len.min(options.max_items) + usize::from(len > options.max_items);
        match (&value, &json) {
            (rmpv::Value::Array(items), serde_json::Value::Array(out)) => {
                assert_eq!(out.len(), shown(items.len()), "array of {}", items.len());
            }
            (rmpv::Value::Map(entries), serde_json::Value::Object(out)) => {
                // Keys shown as text may coincide (1 and "1"), so at most.
                assert!(
                    out.len() <= shown(entries.len()),
                    "map of {}",
                    entries.len()
                );
            }
            (rmpv::Value::Array(_) | rmpv::Value::Map(_), other) => {
                panic!("a collection shown as {other}");
            }
            _ => {}
        }
    }
}
