//! Keyed results: a node's stored result is read only when the inputs,
//! code version and upstream results it was computed from are the same
//! now, and [`Verdict`] says why it is computed otherwise. See
//! [`Storage::node`](crate::Storage::node).

mod code_version;
mod fingerprint;
mod key;
mod node;
mod stored;

pub use code_version::CodeVersion;
pub use fingerprint::Fingerprint;
pub(crate) use key::result_fingerprint;
pub use key::{CONTENT_FINGERPRINT_KEY, NodeKey, Reason, Verdict};
pub use node::{DryRun, Node, Ran};
pub use stored::StoredNode;
