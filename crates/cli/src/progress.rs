//! Progress bars on stderr, when stderr is a terminal.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use functionfuse::maintenance::Progress;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output;

/// Items and bytes of a long operation, drawn as an indicatif bar; nothing
/// at all when stderr is not a terminal (pipes, CI logs) or output is JSON.
pub(crate) struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
    total_bytes: AtomicU64,
    done_bytes: AtomicU64,
}

impl Bars {
    /// Bars, shown when stderr is a terminal and `quiet` is false.
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            total_bytes: AtomicU64::new(0),
            done_bytes: AtomicU64::new(0),
        }
    }

    fn with_bar(&self, action: impl FnOnce(&ProgressBar)) {
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            action(bar);
        }
    }

    fn bytes_message(&self) -> String {
        let done = self.done_bytes.load(Ordering::Relaxed);
        match self.total_bytes.load(Ordering::Relaxed) {
            0 => output::size(done),
            total => format!("{} / {}", output::size(done), output::size(total)),
        }
    }
}

impl Progress for Bars {
    fn start(&self, what: &str, items: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(items);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} items, {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_owned());
        self.total_bytes.store(bytes, Ordering::Relaxed);
        self.done_bytes.store(0, Ordering::Relaxed);
        bar.set_message(self.bytes_message());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, items: u64, bytes: u64) {
        self.done_bytes.fetch_add(bytes, Ordering::Relaxed);
        let message = self.bytes_message();
        self.with_bar(|bar| {
            bar.inc(items);
            bar.set_message(message);
        });
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}
