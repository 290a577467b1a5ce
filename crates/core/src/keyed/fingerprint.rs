//! [`Fingerprint`]: a 128-bit XXH3 hash of a value's canonical MessagePack
//! encoding (maps sorted by key), so that equal values give equal
//! fingerprints whatever the order their maps were built in.

use std::fmt;
use std::str::FromStr;

use rmpv::Value;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The 128-bit fingerprint of a value, an input or a stored result;
/// written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u128);

impl Fingerprint {
    /// The fingerprint of `bytes` as they are.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(xxhash_rust::xxh3::xxh3_128(bytes))
    }

    /// The fingerprint of `value`'s canonical MessagePack encoding.
    ///
    /// # Errors
    /// serde's message when `value` cannot be encoded.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, String> {
        let encoded = rmp_serde::to_vec_named(value).map_err(|e| e.to_string())?;
        Self::of_msgpack(&encoded)
    }

    /// The fingerprint of one MessagePack value, canonicalized first.
    ///
    /// # Errors
    /// When the bytes are not one MessagePack value.
    pub fn of_msgpack(encoded: &[u8]) -> Result<Self, String> {
        let value = rmpv::decode::read_value(&mut &encoded[..]).map_err(|e| e.to_string())?;
        Ok(of_value(value))
    }
}

/// The top-level fields of `value` when it encodes as a map with string
/// keys (a struct, a map), each with its fingerprint; `None` for anything
/// else.
///
/// # Errors
/// serde's message when `value` cannot be encoded.
pub(crate) fn fields_of<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Option<Vec<(String, Fingerprint)>>, String> {
    let encoded = rmp_serde::to_vec_named(value).map_err(|e| e.to_string())?;
    let decoded = rmpv::decode::read_value(&mut &encoded[..]).map_err(|e| e.to_string())?;
    let Value::Map(entries) = decoded else {
        return Ok(None);
    };
    let mut fields = Vec::with_capacity(entries.len());
    for (key, field) in entries {
        let Some(name) = key.as_str() else {
            return Ok(None);
        };
        fields.push((name.to_owned(), of_value(field)));
    }
    Ok(Some(fields))
}

/// `value` with every map's entries sorted by their keys' canonical
/// encodings, recursively.
fn canonical(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Map(entries) => {
            let mut sorted: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(key, item)| {
                    let key = canonical(key);
                    (encode(&key), key, canonical(item))
                })
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(
                sorted
                    .into_iter()
                    .map(|(_, key, item)| (key, item))
                    .collect(),
            )
        }
        scalar => scalar,
    }
}

/// The fingerprint of a decoded value, canonicalized.
fn of_value(value: Value) -> Fingerprint {
    Fingerprint::of_bytes(&encode(&canonical(value)))
}

/// The MessagePack encoding of `value`.
fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.len() != 32 {
            return Err(format!("a fingerprint is 32 hex digits, not {text:?}"));
        }
        u128::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| format!("a fingerprint is 32 hex digits, not {text:?}"))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    #[test]
    fn map_order_does_not_matter_and_values_do() {
        let mut a = HashMap::new();
        let mut b = HashMap::new();
        for i in 0..50 {
            a.insert(format!("k{i}"), i);
        }
        for i in (0..50).rev() {
            b.insert(format!("k{i}"), i);
        }
        let sorted: BTreeMap<_, _> = a.clone().into_iter().collect();
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&sorted));
        b.insert("k7".into(), 8);
        assert_ne!(Fingerprint::of(&a), Fingerprint::of(&b));
        assert_ne!(Fingerprint::of(&1_u8), Fingerprint::of(&1.0_f64));
    }

    #[test]
    fn fingerprints_round_trip_as_hex() {
        let print = Fingerprint::of("hello").unwrap();
        let text = print.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), print);
        assert!("xyz".parse::<Fingerprint>().is_err());
    }
}
