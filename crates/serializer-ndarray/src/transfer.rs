//! Whole-array operations that go block by block, so that memory holds a
//! block at a time whatever the array's size: checking a stored array
//! against its record, and copying it through other protocols.

use functionfuse_core::{PersistentId, Protocols};

use crate::checksum;
use crate::element::Element;
use crate::error::ArrayError;
use crate::handle::ArrayHandle;
use crate::options::NdarrayOptions;
use crate::serializer::{recorded_checksum, store};
use crate::sink::Sink;

/// Reads every block of `handle` and checks the data against the record's
/// checksum.
pub(crate) fn verify<A: Element>(handle: &ArrayHandle<A>) -> Result<(), ArrayError> {
    if handle.ndim() == 0 {
        return handle.read().map(drop);
    }
    // The CRC-32C alone: verifying needs no content fingerprint.
    let mut crc = 0;
    for block in handle.blocks(handle.block_rows()) {
        let block = block?;
        // Blocks are read into new C-order arrays: one slice each.
        let block = block.as_standard_layout();
        let values = block.as_slice().unwrap_or_default();
        crc = crc32c::crc32c_combine(crc, checksum::of(values), size_of_val(values));
    }
    check(handle, crc)
}

/// Copies the array `handle` opens through `to` (HDF5 on a folder, zarr on
/// S3), block by block, checking what was read against the record's
/// checksum before the copy is complete; returns the copy's id.
pub(crate) fn copy<A: Element>(
    handle: &ArrayHandle<A>,
    to: &Protocols,
    options: &NdarrayOptions,
) -> anyhow::Result<PersistentId> {
    if handle.ndim() == 0 {
        let array = handle.read().map_err(ArrayError::into_anyhow)?;
        return store(&array.view(), to, options);
    }
    let mut sink =
        Sink::<A>::create(to, handle.shape(), options).map_err(ArrayError::into_anyhow)?;
    for block in handle.blocks(handle.block_rows()) {
        let block = block.map_err(ArrayError::into_anyhow)?;
        sink.write(&block.view()).map_err(ArrayError::into_anyhow)?;
    }
    // A damaged source leaves no copy: the sink is dropped unfinished.
    check(handle, sink.checksum()).map_err(ArrayError::into_anyhow)?;
    sink.finish().map_err(ArrayError::into_anyhow)
}

/// Compares the check of everything read with the record's.
fn check<A: Element>(handle: &ArrayHandle<A>, computed: u32) -> Result<(), ArrayError> {
    checksum::verify(
        &handle.location(),
        computed,
        recorded_checksum(handle.persistent_id()),
    )
}
