//! Validation of workflow, task and big-data object names.
//!
//! Names become path components (file backend) and key segments (S3), so a
//! name must never be able to leave its folder or prefix.

use crate::error::{Error, Result};

/// Longest accepted name in bytes: the usual file-name limit of local file systems.
pub const MAX_NAME_LEN: usize = 255;

/// The folder of a workflow that holds big data; not usable as a task name.
pub const BIGDATA_DIR: &str = "bigdata";

/// The hidden folder of a workflow that holds its single-flight leases
/// (lock files, or lease objects on S3), one per task. Hidden from
/// listings: task names never start with a dot.
pub const LEASES_DIR: &str = ".leases";

/// The hidden folder of a workflow that holds its access times: one empty
/// marker per task read lately, whose modification time is when it was
/// last read. Retention's size cap evicts by it.
pub const ACCESS_DIR: &str = ".access";

/// Checks a workflow name.
///
/// # Errors
/// [`Error::InvalidName`] when the name is empty, too long, `.`/`..`, starts
/// with a dot, or holds `/`, `\`, NUL or another control character.
pub fn validate_workflow(name: &str) -> Result<()> {
    check(name).map_err(|reason| invalid("workflow", name, reason))
}

/// Checks a task name: the workflow rules, and not the reserved [`BIGDATA_DIR`].
///
/// # Errors
/// [`Error::InvalidName`] as for [`validate_workflow`], or for `bigdata`.
pub fn validate_task(name: &str) -> Result<()> {
    check(name).map_err(|reason| invalid("task", name, reason))?;
    if name == BIGDATA_DIR {
        return Err(invalid(
            "task",
            name,
            "`bigdata` is reserved for the workflow's big-data folder",
        ));
    }
    Ok(())
}

/// Checks the name of a big-data object handed to a protocol (read back from
/// a record, so it may have been tampered with).
///
/// # Errors
/// [`Error::InvalidName`] under the same rules as [`validate_workflow`].
pub fn validate_object(name: &str) -> Result<()> {
    check(name).map_err(|reason| invalid("big-data object", name, reason))
}

fn invalid(what: &'static str, name: &str, reason: &'static str) -> Error {
    // Cap what we echo back: the name may be megabytes of garbage.
    let mut shown: String = name.chars().take(80).collect();
    if shown.len() < name.len() {
        shown.push('…');
    }
    Error::InvalidName {
        what,
        name: shown,
        reason,
    }
}

fn check(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("names must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("names must be at most 255 bytes long");
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` would leave the storage folder");
    }
    if name.starts_with('.') {
        return Err("names must not start with `.` (reserved for temporary files)");
    }
    if name.contains(['/', '\\']) {
        return Err("names must not contain `/` or `\\`");
    }
    if name.chars().any(char::is_control) {
        return Err("names must not contain NUL or other control characters");
    }
    // Whatever else the platform reads into a path (a drive prefix such as
    // `C:` on Windows) must not turn the name into more than a file name.
    let mut components = std::path::Path::new(name).components();
    if !matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) {
        return Err("names must be a single plain file name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["train", "node_1", "w[1]", "a b", "résumé", "x.y", "a*?"] {
            assert!(validate_workflow(name).is_ok(), "{name}");
            assert!(validate_task(name).is_ok(), "{name}");
        }
        assert!(validate_workflow("bigdata").is_ok());
    }

    #[test]
    fn rejects_names_that_escape_or_are_reserved() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        for name in [
            "", ".", "..", "../etc", "a/b", "a\\b", "nul\0", "line\n", ".hidden", &long,
        ] {
            assert!(
                matches!(
                    validate_task(name),
                    Err(Error::InvalidName { what: "task", .. })
                ),
                "{name:?}"
            );
            assert!(validate_workflow(name).is_err(), "{name:?}");
            assert!(validate_object(name).is_err(), "{name:?}");
        }
        assert!(matches!(
            validate_task("bigdata"),
            Err(Error::InvalidName { .. })
        ));
    }

    #[test]
    fn error_message_caps_long_names() {
        let long = "y".repeat(10_000);
        let message = validate_task(&long).unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
        assert!(message.contains("at most 255 bytes"));
    }
}
