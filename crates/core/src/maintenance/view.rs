//! A MessagePack payload shown as JSON without its Rust type: what `ffuse
//! show` prints.
//!
//! Binary data becomes `{"$binary": {"bytes": N, "preview": "hex…"}}`,
//! references to persistent objects `{"$persistent": {...}}` with the
//! object's serializer, location and metadata, other extension types
//! `{"$ext": {...}}`, and arrays and maps longer than
//! [`ViewOptions::max_items`] end in a string saying how many were left out.
//!
//! ```
//! use functionfuse_core::maintenance::view::{ViewOptions, payload_to_json};
//! use functionfuse_core::record::RecordHeader;
//!
//! let header = RecordHeader { type_name: "Vec<u32>".into(), persistent_ids: vec![], created_ns: 0, key: None, fingerprint: None, reason: None };
//! let payload = rmp_serde::to_vec(&(0..100).collect::<Vec<u32>>()).unwrap();
//! let json = payload_to_json(&payload, &header, &ViewOptions { max_items: 3, ..ViewOptions::default() })?;
//! assert_eq!(json, serde_json::json!([0, 1, 2, "… 97 more items"]));
//! # Ok::<(), String>(())
//! ```

use std::fmt::Write as _;

use rmpv::Value;
use serde_json::{Map, Value as Json, json};

use crate::record::{PERSISTENT_EXT_TYPE, RecordHeader};

/// How much of a payload to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOptions {
    /// Items of an array or map shown before the rest is elided
    /// (`usize::MAX`: all).
    pub max_items: usize,
    /// Bytes of binary data shown as hex.
    pub preview_bytes: usize,
}

impl Default for ViewOptions {
    fn default() -> Self {
        Self {
            max_items: 20,
            preview_bytes: 16,
        }
    }
}

/// Deepest nesting decoded; deeper payloads are refused rather than
/// exhausting the stack.
const MAX_DEPTH: usize = 512;

/// Decodes `payload` (exactly one MessagePack value) into its JSON view;
/// `header` resolves references to persistent objects.
///
/// # Errors
/// A message when the payload is not exactly one MessagePack value, nests
/// deeper than 512 levels, or refers to a persistent object the header
/// does not name.
pub fn payload_to_json(
    payload: &[u8],
    header: &RecordHeader,
    options: &ViewOptions,
) -> Result<Json, String> {
    let value = decode(payload)?;
    Converter { header, options }.convert(&value)
}

/// Checks that `payload` is exactly one MessagePack value and that every
/// persistent reference in it, however deeply nested, names an object of
/// `header` (what [`Storage::verify`](crate::Storage::verify) checks).
///
/// # Errors
/// As [`payload_to_json`].
pub fn check_payload(payload: &[u8], header: &RecordHeader) -> Result<(), String> {
    let value = decode(payload)?;
    let options = ViewOptions::default();
    let converter = Converter {
        header,
        options: &options,
    };
    let mut pending = vec![&value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Map(entries) => pending.extend(entries.iter().flat_map(|(k, v)| [k, v])),
            Value::Ext(kind, data) if *kind == PERSISTENT_EXT_TYPE => {
                converter.reference(data)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes exactly one MessagePack value.
fn decode(payload: &[u8]) -> Result<Value, String> {
    let mut cursor = payload;
    let value = rmpv::decode::read_value_with_max_depth(&mut cursor, MAX_DEPTH)
        .map_err(|e| format!("the payload is not MessagePack: {e}"))?;
    if !cursor.is_empty() {
        return Err(format!(
            "{} bytes follow the payload's value (a payload is exactly one MessagePack value)",
            cursor.len()
        ));
    }
    Ok(value)
}

struct Converter<'a> {
    header: &'a RecordHeader,
    options: &'a ViewOptions,
}

impl Converter<'_> {
    fn convert(&self, value: &Value) -> Result<Json, String> {
        Ok(match value {
            Value::Nil => Json::Null,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Integer(i) => i
                .as_u64()
                .map(Json::from)
                .or_else(|| i.as_i64().map(Json::from))
                .unwrap_or(Json::Null),
            Value::F32(f) => float(f64::from(*f)),
            Value::F64(f) => float(*f),
            Value::String(s) => match s.as_str() {
                Some(text) => Json::String(text.to_owned()),
                None => json!({"$invalid_utf8": self.binary(s.as_bytes())}),
            },
            Value::Binary(bytes) => json!({"$binary": self.binary(bytes)}),
            Value::Array(items) => {
                let mut out = items
                    .iter()
                    .take(self.options.max_items)
                    .map(|item| self.convert(item))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.len() > out.len() {
                    out.push(Json::String(format!(
                        "… {} more items",
                        items.len() - out.len()
                    )));
                }
                Json::Array(out)
            }
            Value::Map(entries) => {
                let mut out = Map::new();
                for (key, item) in entries.iter().take(self.options.max_items) {
                    out.insert(self.key(key)?, self.convert(item)?);
                }
                if entries.len() > self.options.max_items {
                    out.insert(
                        "…".to_owned(),
                        Json::String(format!(
                            "{} more entries",
                            entries.len() - self.options.max_items
                        )),
                    );
                }
                Json::Object(out)
            }
            Value::Ext(kind, data) if *kind == PERSISTENT_EXT_TYPE => self.reference(data)?,
            Value::Ext(kind, data) => json!({"$ext": {"type": kind, "data": self.binary(data)}}),
        })
    }

    /// A map key as a JSON object key: strings as they are, anything else
    /// as its compact JSON text.
    fn key(&self, key: &Value) -> Result<String, String> {
        match key {
            Value::String(s) if s.as_str().is_some() => {
                Ok(s.as_str().unwrap_or_default().to_owned())
            }
            other => Ok(self.convert(other)?.to_string()),
        }
    }

    fn binary(&self, bytes: &[u8]) -> Json {
        let mut preview = String::with_capacity(2 * self.options.preview_bytes + 1);
        for byte in bytes.iter().take(self.options.preview_bytes) {
            let _ = write!(preview, "{byte:02x}");
        }
        if bytes.len() > self.options.preview_bytes {
            preview.push('…');
        }
        json!({"bytes": bytes.len(), "preview": preview})
    }

    fn reference(&self, data: &[u8]) -> Result<Json, String> {
        let index = <[u8; 4]>::try_from(data)
            .map(u32::from_be_bytes)
            .map_err(|_| format!("a persistent reference of {} bytes (not 4)", data.len()))?;
        let pid = usize::try_from(index)
            .ok()
            .and_then(|i| self.header.persistent_ids.get(i))
            .ok_or_else(|| {
                format!(
                    "the payload refers to persistent object {index}, but the header names {}",
                    self.header.persistent_ids.len()
                )
            })?;
        Ok(json!({"$persistent": {
            "index": index,
            "serializer": pid.serializer,
            "location": pid.location,
            "protocol": pid.protocol,
            "metadata": pid.metadata,
        }}))
    }
}

/// A float as a JSON number, or a string for what JSON cannot hold.
fn float(value: f64) -> Json {
    serde_json::Number::from_f64(value)
        .map_or_else(|| Json::String(value.to_string()), Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PersistentId;

    fn header(ids: usize) -> RecordHeader {
        RecordHeader {
            type_name: "T".into(),
            persistent_ids: (0..ids)
                .map(|i| PersistentId {
                    serializer: "ndarray".into(),
                    version: 1,
                    location: format!("a{i}.h5"),
                    protocol: crate::FILE_PROTOCOL.into(),
                    metadata: serde_json::Map::new(),
                })
                .collect(),
            created_ns: 0,
            key: None,
            fingerprint: None,
            reason: None,
        }
    }

    fn view(payload: &[u8], ids: usize) -> Result<Json, String> {
        payload_to_json(payload, &header(ids), &ViewOptions::default())
    }

    #[test]
    fn shows_structs_as_maps_and_special_values_tagged() {
        #[derive(serde::Serialize)]
        struct Row {
            name: String,
            weights: Vec<f64>,
            #[serde(with = "serde_bytes")]
            blob: Vec<u8>,
            missing: Option<u8>,
        }
        let row = Row {
            name: "x".into(),
            weights: vec![0.5, f64::NAN],
            blob: (0..40).collect(),
            missing: None,
        };
        let payload = rmp_serde::to_vec_named(&row).unwrap();
        let json = view(&payload, 0).unwrap();
        assert_eq!(json["name"], "x");
        assert_eq!(json["weights"], json!([0.5, "NaN"]));
        assert_eq!(json["blob"]["$binary"]["bytes"], 40);
        assert_eq!(
            json["blob"]["$binary"]["preview"],
            "000102030405060708090a0b0c0d0e0f…"
        );
        assert_eq!(json["missing"], Json::Null);
    }

    #[test]
    fn integer_keys_and_long_maps() {
        let map: std::collections::BTreeMap<u32, u32> = (0..25).map(|i| (i, i * i)).collect();
        let json = view(&rmp_serde::to_vec(&map).unwrap(), 0).unwrap();
        assert_eq!(json["3"], 9);
        assert_eq!(json["…"], "5 more entries");
    }

    #[test]
    fn resolves_persistent_references_and_refuses_dangling_ones() {
        let reference = [0xd6, PERSISTENT_EXT_TYPE as u8, 0, 0, 0, 1];
        let json = view(&reference, 2).unwrap();
        assert_eq!(json["$persistent"]["location"], "a1.h5");
        let error = view(&reference, 1).unwrap_err();
        assert!(error.contains("persistent object 1"), "{error}");
    }

    #[test]
    fn checks_references_at_any_depth() {
        let nested = |index: u8| {
            let mut payload = vec![0x91, 0x81, 0xa1, b'a'];
            payload.extend([0xd6, PERSISTENT_EXT_TYPE as u8, 0, 0, 0, index]);
            payload
        };
        assert!(check_payload(&nested(1), &header(2)).is_ok());
        let error = check_payload(&nested(2), &header(2)).unwrap_err();
        assert!(error.contains("persistent object 2"), "{error}");
        assert!(check_payload(&[0xc0, 0xc0], &header(0)).is_err());
    }

    #[test]
    fn refuses_what_is_not_exactly_one_value() {
        assert!(view(&[], 0).unwrap_err().contains("not MessagePack"));
        assert!(
            view(&[0xc0, 0xc0], 0)
                .unwrap_err()
                .contains("1 bytes follow")
        );
        // An array claiming 2^32-1 items in 5 bytes: refused without allocating.
        assert!(view(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        // Nesting deeper than the limit.
        let deep = vec![0x91; 100_000];
        assert!(view(&deep, 0).is_err());
    }
}
