//! A backend wrapper that injects write failures, for the checks of the
//! failure paths. It wraps a real backend; only `put` misbehaves.

use crate::{Protocols, Storage, StorageBackend};

/// When the injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `put` fails without writing.
    BeforeWrite,
    /// `put` writes the record, then reports a failure (a failed final
    /// sync, a lost reply).
    AfterWrite,
}

/// The backend of `inner`, with `put` failing as `fault` says.
#[derive(Debug)]
pub(crate) struct FaultyBackend {
    pub(crate) inner: Storage,
    pub(crate) fault: Fault,
}

impl StorageBackend for FaultyBackend {
    fn kind(&self) -> &'static str {
        self.inner.backend().kind()
    }

    fn location(&self) -> String {
        self.inner.backend().location()
    }

    fn new_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        self.inner.backend().new_workflow(workflow)
    }

    fn put(&self, workflow: &str, task: &str, record: &[u8]) -> anyhow::Result<()> {
        if self.fault == Fault::AfterWrite {
            self.inner.backend().put(workflow, task, record)?;
        }
        anyhow::bail!("injected failure ({:?})", self.fault)
    }

    fn get(&self, workflow: &str, task: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.inner.backend().get(workflow, task)
    }

    fn get_prefix(
        &self,
        workflow: &str,
        task: &str,
        len: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        self.inner.backend().get_prefix(workflow, task, len)
    }

    fn exists(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        self.inner.backend().exists(workflow, task)
    }

    fn list(&self, workflow: &str) -> anyhow::Result<Vec<String>> {
        self.inner.backend().list(workflow)
    }

    fn delete(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        self.inner.backend().delete(workflow, task)
    }

    fn remove_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        self.inner.backend().remove_workflow(workflow)
    }

    fn protocols(&self, workflow: &str) -> anyhow::Result<Protocols> {
        self.inner.backend().protocols(workflow)
    }
}
