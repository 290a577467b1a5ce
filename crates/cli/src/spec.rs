//! Storage specs: what `--storage`, `cp`'s arguments and `FFUSE_STORAGE`
//! accept, turned into a [`StorageConfig`] and opened.

use std::path::Path;

use anyhow::{Context as _, bail};
use functionfuse::{Storage, StorageConfig, storage_factory};
use serde_json::{Value, json};

/// S3 options given as query parameters that take numbers.
const NUMERIC_S3_OPTIONS: &[&str] = &[
    "connect_timeout_s",
    "operation_timeout_s",
    "max_attempts",
    "concurrency",
];

/// Parses a storage spec: `s3://bucket/prefix?options`, `file://path`, a
/// JSON, TOML or YAML config file, or a folder.
pub(crate) fn parse(spec: &str) -> anyhow::Result<StorageConfig> {
    if let Some(rest) = spec.strip_prefix("s3://") {
        return s3(spec, rest);
    }
    if let Some(path) = spec.strip_prefix("file://") {
        return Ok(folder(path));
    }
    let path = Path::new(spec);
    if path.is_file() {
        return config_file(path);
    }
    if spec.is_empty() {
        bail!(
            "the storage spec is empty: give a folder, file://PATH, s3://BUCKET/PREFIX or a config file"
        );
    }
    Ok(folder(spec))
}

fn folder(path: &str) -> StorageConfig {
    StorageConfig::new("file", json!({ "path": path }))
}

/// `s3://bucket/prefix?endpoint_url=…&region=…`: the bucket and prefix
/// become the `path` option, query parameters the other options.
fn s3(spec: &str, rest: &str) -> anyhow::Result<StorageConfig> {
    let url =
        url::Url::parse(spec).with_context(|| format!("{spec:?} is not a valid s3:// URL"))?;
    let bucket = url.host_str().unwrap_or_default();
    if bucket.is_empty() {
        bail!("{spec:?} names no bucket: write s3://BUCKET/PREFIX");
    }
    // The path as written (the URL parser would normalise `..` away).
    let prefix = rest
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .strip_prefix(bucket)
        .unwrap_or_default()
        .trim_matches('/');
    let mut options = serde_json::Map::new();
    options.insert("path".into(), format!("{bucket}/{prefix}").into());
    for (key, value) in url.query_pairs() {
        if key == "path" {
            bail!("give the bucket and prefix in the URL (s3://BUCKET/PREFIX), not as `path=`");
        }
        options.insert(key.to_string(), option_value(&key, &value)?);
    }
    Ok(StorageConfig::new("S3", Value::Object(options)))
}

/// A query parameter's value: booleans and the numeric options as JSON
/// numbers and booleans, anything else as a string.
fn option_value(key: &str, value: &str) -> anyhow::Result<Value> {
    match value {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if NUMERIC_S3_OPTIONS.contains(&key) {
        let number: f64 = value
            .parse()
            .with_context(|| format!("option `{key}` takes a number, not {value:?}"))?;
        return Ok(if number.fract() == 0.0 && number >= 0.0 {
            json!(number as u64)
        } else {
            json!(number)
        });
    }
    Ok(Value::String(value.to_owned()))
}

/// A config file, by its extension.
fn config_file(path: &Path) -> anyhow::Result<StorageConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the storage config {}", path.display()))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parsed = match extension.as_str() {
        "json" => serde_json::from_str(&text).map_err(anyhow::Error::from),
        "toml" => toml::from_str(&text).map_err(anyhow::Error::from),
        "yaml" | "yml" => serde_yaml_ng::from_str(&text).map_err(anyhow::Error::from),
        _ => bail!(
            "{} is a file, but not a storage config (.json, .toml, .yaml or .yml); give a folder for a file storage",
            path.display()
        ),
    };
    parsed.with_context(|| {
        format!(
            "{} is not a storage config like {{\"kind\": \"file\", \"options\": {{\"path\": \"storage\"}}}}",
            path.display()
        )
    })
}

/// Whether the storage may be created when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// It must exist already (every command that reads).
    Refuse,
    /// Create it (a copy's destination).
    Create,
}

/// Opens the storage a spec names.
pub(crate) fn open(spec: &str, missing: Missing) -> anyhow::Result<Storage> {
    let config = parse(spec)?;
    if missing == Missing::Refuse
        && config.kind.eq_ignore_ascii_case("file")
        && let Some(path) = config.options.get("path").and_then(Value::as_str)
        && !Path::new(path).is_dir()
    {
        bail!(
            "no storage at {path:?}: the folder does not exist; give one with --storage or FFUSE_STORAGE \
             (a folder, file://PATH, s3://BUCKET/PREFIX or a config file)"
        );
    }
    storage_factory(&config).with_context(|| format!("cannot open the storage {spec:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_file_urls() {
        assert_eq!(parse("storage").unwrap(), folder("storage"));
        assert_eq!(parse("file:///tmp/x").unwrap(), folder("/tmp/x"));
        assert!(parse("").is_err());
    }

    #[test]
    fn s3_urls_with_options() {
        let config = parse(
            "s3://results/run-1/a?endpoint_url=http%3A%2F%2F127.0.0.1%3A9000&region=eu&force_path_style=true&max_attempts=2&key=123",
        )
        .unwrap();
        assert_eq!(config.kind, "S3");
        assert_eq!(
            config.options,
            json!({
                "path": "results/run-1/a",
                "endpoint_url": "http://127.0.0.1:9000",
                "region": "eu",
                "force_path_style": true,
                "max_attempts": 2,
                "key": "123",
            })
        );
        assert_eq!(parse("s3://bucket").unwrap().options["path"], "bucket/");
        assert!(parse("s3:///prefix").is_err());
        assert!(parse("s3://b/p?max_attempts=many").is_err());
        assert!(parse("s3://b/p?path=x").is_err());
    }

    #[test]
    fn config_files_in_three_formats() {
        let folder = tempfile::tempdir().unwrap();
        let expected = StorageConfig::new("file", json!({"path": "results"}));
        for (name, text) in [
            (
                "c.json",
                r#"{"kind": "file", "options": {"path": "results"}}"#,
            ),
            ("c.toml", "kind = \"file\"\n[options]\npath = \"results\"\n"),
            ("c.yaml", "kind: file\noptions:\n  path: results\n"),
        ] {
            let path = folder.path().join(name);
            std::fs::write(&path, text).unwrap();
            assert_eq!(parse(path.to_str().unwrap()).unwrap(), expected, "{name}");
        }
        let other = folder.path().join("notes.txt");
        std::fs::write(&other, "hello").unwrap();
        let error = parse(other.to_str().unwrap()).unwrap_err().to_string();
        assert!(error.contains("not a storage config"), "{error}");
    }
}
