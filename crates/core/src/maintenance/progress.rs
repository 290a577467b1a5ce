//! [`Progress`]: how long operations report how far they are.

/// Receives the progress of a long operation (`verify`, `gc`, `copy`,
/// bulk removal), in items and bytes. Calls may come from several threads.
pub trait Progress: Sync {
    /// The operation starts: `items` things, `bytes` bytes in all (0 when
    /// not known). `what` names it (`"verifying"`).
    fn start(&self, what: &str, items: u64, bytes: u64) {
        let _ = (what, items, bytes);
    }

    /// `items` more things, `bytes` more bytes are done.
    fn advance(&self, items: u64, bytes: u64) {
        let _ = (items, bytes);
    }

    /// The operation is over.
    fn finish(&self) {}
}

/// Progress that nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
