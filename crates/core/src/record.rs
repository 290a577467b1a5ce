//! Record format v1 (specified byte by byte in `docs/format.md`).
//!
//! ```text
//! offset  size  field
//! 0       8     magic "FFUSEREC"
//! 8       2     format version, u16 little-endian (1)
//! 10      4     header length H, u32 little-endian
//! 14      H     header: MessagePack map {type, persistent_ids, created_ns}
//! 14+H    P     payload: one MessagePack value (the result)
//! end-4   4     CRC-32 (IEEE, as zlib.crc32) of every byte before it, u32 little-endian
//! ```

use serde::{Deserialize, Serialize};

use crate::keyed::{Fingerprint, NodeKey};
use crate::serializer::PersistentId;

/// First bytes of every record.
pub const MAGIC: &[u8; 8] = b"FFUSEREC";
/// The record format version this crate writes.
pub const FORMAT_VERSION: u16 = 1;
/// MessagePack extension type of a reference to a persistent object inside
/// the payload; its 4 data bytes are the big-endian index into
/// [`RecordHeader::persistent_ids`].
pub const PERSISTENT_EXT_TYPE: i8 = 0x46;

const PREFIX_LEN: usize = MAGIC.len() + 2 + 4;
const CHECKSUM_LEN: usize = 4;

/// The header of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordHeader {
    /// Rust type name of the saved value (`std::any::type_name`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Persistent objects the payload refers to, by index.
    pub persistent_ids: Vec<PersistentId>,
    /// Creation time, nanoseconds since the Unix epoch (UTC).
    pub created_ns: u64,
    /// For a keyed result ([`Storage::node`](crate::Storage::node)): what
    /// it was computed from. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<NodeKey>,
    /// For a keyed result: the fingerprint of the result itself, which
    /// downstream nodes record as their upstream's. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// For a keyed result: why it was computed (`"input `lr` changed"`),
    /// for `ffuse explain`. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A record split into its parts; the payload borrows from the bytes.
#[derive(Debug)]
pub struct Record<'a> {
    /// The decoded header.
    pub header: RecordHeader,
    /// The MessagePack payload.
    pub payload: &'a [u8],
}

/// Builds a record around an already encoded payload.
///
/// # Errors
/// When the header cannot be encoded (never for well-formed ids) or is over 4 GiB.
pub fn encode(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(PREFIX_LEN + 64 + payload.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    rmp_serde::encode::write_named(&mut out, header).map_err(|e| e.to_string())?;
    let header_len = u32::try_from(out.len() - PREFIX_LEN)
        .map_err(|_| "record header is larger than 4 GiB".to_owned())?;
    out[PREFIX_LEN - 4..PREFIX_LEN].copy_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(payload);
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(out)
}

/// Checks and splits a record.
///
/// # Errors
/// A message saying which check failed: size, magic, version, checksum,
/// header length or header content.
pub fn decode(bytes: &[u8]) -> Result<Record<'_>, String> {
    let body = check_frame(bytes)?;
    let (stored, body) = (
        &bytes[bytes.len() - CHECKSUM_LEN..],
        &body[..body.len() - CHECKSUM_LEN],
    );
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the record was changed or cut short"
        ));
    }
    split(body)
}

/// Reads only the header from the start of a record, without checking the
/// checksum: removal uses it to find the big data of a record that is
/// large, or damaged further on.
///
/// # Errors
/// When the bytes are not a record's start or hold less than the header.
pub fn decode_header(prefix: &[u8]) -> Result<RecordHeader, String> {
    if prefix.len() < PREFIX_LEN {
        return Err(format!(
            "only {} bytes, shorter than a record's frame",
            prefix.len()
        ));
    }
    check_magic_and_version(prefix)?;
    let end =
        PREFIX_LEN + u32::from_le_bytes([prefix[10], prefix[11], prefix[12], prefix[13]]) as usize;
    if end > prefix.len() {
        return Err(format!(
            "the header ends at byte {end}, past the {} bytes read",
            prefix.len()
        ));
    }
    rmp_serde::from_slice(&prefix[PREFIX_LEN..end]).map_err(|e| format!("undecodable header: {e}"))
}

/// The header length field of a record's start, if `bytes` reach it.
pub fn header_len(bytes: &[u8]) -> Option<u64> {
    let field = bytes.get(PREFIX_LEN - 4..PREFIX_LEN)?;
    Some(u64::from(u32::from_le_bytes([
        field[0], field[1], field[2], field[3],
    ])))
}

/// Checks size, magic and version; returns the whole record.
fn check_frame(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < PREFIX_LEN + CHECKSUM_LEN {
        return Err(format!(
            "only {} bytes, shorter than the smallest record",
            bytes.len()
        ));
    }
    check_magic_and_version(bytes)?;
    Ok(bytes)
}

/// Checks the first 10 bytes (the caller ensures there are that many).
fn check_magic_and_version(bytes: &[u8]) -> Result<(), String> {
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err("it does not start with the FFUSEREC magic".to_owned());
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version} is not supported (this build reads version {FORMAT_VERSION})"
        ));
    }
    Ok(())
}

/// Splits `body` (a record without its checksum) into header and payload.
fn split(body: &[u8]) -> Result<Record<'_>, String> {
    let header_len = u32::from_le_bytes([body[10], body[11], body[12], body[13]]) as usize;
    let rest = &body[PREFIX_LEN..];
    if header_len > rest.len() {
        return Err(format!(
            "header length {header_len} runs past the end of the record"
        ));
    }
    let (header, payload) = rest.split_at(header_len);
    let header: RecordHeader =
        rmp_serde::from_slice(header).map_err(|e| format!("undecodable header: {e}"))?;
    if payload.is_empty() {
        return Err("the payload is missing".to_owned());
    }
    Ok(Record { header, payload })
}

/// The payload bytes of a reference to persistent object `index`.
pub(crate) fn reference_bytes(index: u32) -> [u8; 4] {
    index.to_be_bytes()
}

/// Whether `payload` is exactly one persistent reference (a whole value
/// stored by a persistent serializer): `fixext4` of [`PERSISTENT_EXT_TYPE`].
pub(crate) fn is_whole_reference(payload: &[u8]) -> bool {
    payload.len() == 6 && payload[0] == 0xd6 && payload[1] == PERSISTENT_EXT_TYPE as u8
}

/// The payload of a record whose whole value is persistent object 0 (what
/// [`is_whole_reference`] recognizes): a MessagePack `fixext 4`.
pub(crate) fn whole_reference() -> [u8; 6] {
    let [a, b, c, d] = reference_bytes(0);
    [0xd6, PERSISTENT_EXT_TYPE as u8, a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecordHeader {
        RecordHeader {
            type_name: "alloc::vec::Vec<i32>".into(),
            persistent_ids: vec![],
            created_ns: 1_700_000_000_000_000_000,
            key: None,
            fingerprint: None,
            reason: None,
        }
    }

    #[test]
    fn round_trips_and_detects_every_flipped_byte() {
        let payload = rmp_serde::to_vec(&vec![1, 2, 3]).unwrap();
        let bytes = encode(&header(), &payload).unwrap();
        let record = decode(&bytes).unwrap();
        assert_eq!(record.header, header());
        assert_eq!(record.payload, payload.as_slice());
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x40;
            assert!(decode(&damaged).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn rejects_every_truncation() {
        let bytes = encode(&header(), &[0xc0]).unwrap();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn header_reads_from_a_prefix_despite_later_damage() {
        let payload = rmp_serde::to_vec(&vec![0.5_f64; 1000]).unwrap();
        let mut bytes = encode(&header(), &payload).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(decode(&bytes).is_err());
        assert_eq!(decode_header(&bytes).unwrap(), header());
        assert_eq!(decode_header(&bytes[..100]).unwrap(), header());
        assert!(
            decode_header(&bytes[..20])
                .unwrap_err()
                .contains("past the 20 bytes")
        );
        assert!(decode_header(b"FFUSEREC").is_err());
    }

    #[test]
    fn rejects_other_versions_by_name() {
        let mut bytes = encode(&header(), &[0xc0]).unwrap();
        bytes[8] = 2;
        assert!(decode(&bytes).unwrap_err().contains("format version 2"));
    }
}
