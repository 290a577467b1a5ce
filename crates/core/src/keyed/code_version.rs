//! [`CodeVersion`]: a node's code version derived from its source, as
//! `#[functionfuse::node]` computes it.

use std::fmt;

/// A code version derived from a function's tokens by
/// `#[functionfuse::node]`, combined with the versions of the functions
/// it names in `uses(...)`. Pass it to
/// [`Node::version`](crate::Node::version).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeVersion(u128);

impl CodeVersion {
    /// The version whose hash of the function's tokens is `hash`.
    #[doc(hidden)]
    pub const fn new(hash: u128) -> Self {
        Self(hash)
    }

    /// This version combined with a callee's: either changing changes it.
    #[must_use]
    pub const fn with(self, callee: Self) -> Self {
        // An odd multiplier mixes the bits; the rotation keeps `a.with(b)`
        // and `b.with(a)` apart.
        Self(
            self.0
                .rotate_left(17)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                ^ callee.0,
        )
    }
}

impl fmt::Display for CodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 16 hex digits are plenty to tell versions of one function apart.
        write!(f, "{:016x}", (self.0 >> 64) as u64 ^ self.0 as u64)
    }
}

impl fmt::Debug for CodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeVersion({self})")
    }
}

impl From<CodeVersion> for String {
    fn from(version: CodeVersion) -> Self {
        version.to_string()
    }
}
