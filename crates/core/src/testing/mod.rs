//! The conformance suite every storage backend runs (feature `testing`).
//!
//! A backend crate calls [`conformance_tests!`](crate::conformance_tests)
//! in its tests with a function that makes a fresh backend; each check
//! becomes one `#[test]`. The checks use real serializers that store blobs
//! through whichever protocol the backend speaks and record the calls they
//! get.
//!
//! ```text
//! fn fresh() -> (Box<dyn StorageBackend>, tempfile::TempDir) { ... }
//! functionfuse_core::conformance_tests!(fresh);
//! ```

#![allow(
    clippy::missing_panics_doc,
    clippy::needless_pass_by_value,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod checks;
mod failures;
mod faulty;
pub mod maintenance;
pub mod retention;
pub mod serializers;

/// Rewrites the header of the record `workflow/task` from `from` (another
/// task, or the same) with `edit`, keeping the payload and fixing the
/// checksum: a record as another writer, or an attacker, could leave it.
pub fn forge_header(
    backend: &dyn crate::StorageBackend,
    workflow: &str,
    from: &str,
    to: &str,
    edit: impl FnOnce(&mut crate::record::RecordHeader),
) {
    let bytes = backend
        .get(workflow, from)
        .expect("get")
        .expect("a record to forge from");
    let record = crate::record::decode(&bytes).expect("a valid record");
    let mut header = record.header;
    edit(&mut header);
    let forged = crate::record::encode(&header, record.payload).expect("encode");
    backend.put(workflow, to, &forged).expect("put");
}

pub use serializers::{
    Call, FailingBlob, InventoryBlob, RecordingSerializer, RuntimeBlob, UnregisteredBlob, big_data,
    inventory_calls,
};

/// Generates one `#[test]` per conformance check, in a module `conformance`.
///
/// `$setup` is a function returning `(Box<dyn StorageBackend>, G)`: a fresh,
/// empty backend and a guard kept alive for the test (a temporary folder, a
/// server handle).
#[macro_export]
macro_rules! conformance_tests {
    ($setup:ident) => {
        mod conformance {
            $crate::conformance_tests!(@tests $setup, checks;
                round_trips_many_value_shapes,
                missing_results_are_not_found,
                get_prefix_reads_the_start_of_records,
                lists_with_glob_patterns,
                removes_tasks_and_workflows,
                overwrite_replaces_and_removes_old_big_data,
                linked_serializer_takes_whole_values,
                runtime_serializers_add_and_override,
                nested_persistent_fields_round_trip,
                concurrent_saves_from_threads,
                panicking_save_leaves_no_big_data,
                failed_save_rolls_back_big_data,
                failed_puts_keep_records_and_big_data_consistent,
                hostile_locations_are_refused,
                missing_serializer_is_a_clear_error,
                corrupt_and_truncated_records_are_reported,
                type_mismatch_names_the_stored_type,
                invalid_names_are_rejected_without_writing,
                removing_a_corrupt_record_still_removes_big_data,
                cached_reads_computes_and_recomputes_corrupt,
                records_over_the_limits_are_refused,
            );
            $crate::conformance_tests!(@tests $setup, maintenance;
                maintenance_lists_workflows_tasks_and_sizes,
                verify_reports_each_damaged_task,
                gc_removes_old_orphans_and_keeps_the_rest,
            );
            $crate::conformance_tests!(@tests $setup, retention;
                retention_expires_by_count_and_age,
                retention_size_cap_evicts_the_least_recently_used,
                retention_leaves_protected_workflows_alone,
                gc_collects_expired_leases_and_stale_access_marks,
            );
        }
    };
    (@tests $setup:ident, $module:ident; $($check:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                fn $check() {
                    let (backend, _guard) = super::super::$setup();
                    $crate::testing::$module::$check($crate::Storage::new(backend));
                }
            )*
        }
    };
}
