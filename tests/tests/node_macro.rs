//! `#[functionfuse::node]` derives a code version from a function's
//! tokens: stable under formatting and comments, changed by any edit of
//! the code, combined with the versions of the callees it names.

// Test code: a failed expectation is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_cmp
)]

use functionfuse::{CodeVersion, Reason, Verdict};
use functionfuse_tests::file_storage;

mod original {
    /// Scales the rows.
    #[functionfuse::node]
    pub(crate) fn scale(rows: &[f64], factor: f64) -> Vec<f64> {
        rows.iter().map(|x| x * factor).collect()
    }

    #[functionfuse::node(uses(scale))]
    pub(crate) fn total(rows: &[f64]) -> f64 {
        scale(rows, 2.0).iter().sum()
    }
}

mod reformatted {
    // Another doc comment, other comments, other layout: the same code.
    /// Multiplies every row by `factor`.
    #[functionfuse::node]
    pub(crate) fn scale(
        rows: &[f64],
        factor: f64, // the factor
    ) -> Vec<f64> {
        /* one expression */
        rows.iter().map(|x| x * factor).collect()
    }
}

// Only its versions are used.
#[allow(dead_code)]
mod edited {
    #[functionfuse::node]
    pub(crate) fn scale(rows: &[f64], factor: f64) -> Vec<f64> {
        rows.iter().map(|x| x * factor * 1.0).collect()
    }

    #[functionfuse::node(uses(scale))]
    pub(crate) fn total(rows: &[f64]) -> f64 {
        scale(rows, 2.0).iter().sum()
    }
}

/// One parameter, one predicate, one argument: on one line each.
#[allow(dead_code)]
#[rustfmt::skip]
mod single {
    #[functionfuse::node]
    pub(crate) fn first<T>(rows: &[T]) -> Option<(T,)> where T: Clone {
        rows.first().cloned().map(|row| (row,))
    }

    #[functionfuse::node]
    pub(crate) fn width(row: u8) -> usize {
        let tuple = (row,);
        std::mem::size_of_val(&tuple)
    }
}

/// The same, as rustfmt breaks long lines: a trailing comma after each
/// lone item, which means nothing.
#[allow(dead_code)]
#[rustfmt::skip]
mod single_broken {
    #[functionfuse::node]
    pub(crate) fn first<T,>(
        rows: &[T],
    ) -> Option<(T,)>
    where
        T: Clone,
    {
        rows.first().cloned().map(
            |row| (row,),
        )
    }

    /// A 1-tuple's comma means something: `(row)` is a `u8`.
    #[functionfuse::node]
    #[allow(unused_parens)]
    pub(crate) fn width(row: u8) -> usize {
        let tuple = (row);
        std::mem::size_of_val(&tuple)
    }
}

#[test]
fn trailing_commas_of_lone_items_are_formatting_and_tuples_are_not() {
    assert_eq!(single::FIRST_VERSION, single_broken::FIRST_VERSION);
    assert_ne!(single::WIDTH_VERSION, single_broken::WIDTH_VERSION);
}

#[test]
fn formatting_and_comments_keep_the_version_and_edits_change_it() {
    assert_eq!(original::SCALE_VERSION, reformatted::SCALE_VERSION);
    assert_ne!(original::SCALE_VERSION, edited::SCALE_VERSION);
    // `total` did not change, but a callee it names did.
    assert_ne!(original::TOTAL_VERSION, edited::TOTAL_VERSION);
    assert_ne!(original::TOTAL_VERSION, original::SCALE_VERSION);
    assert_eq!(original::SCALE_VERSION.to_string().len(), 16);
    // The functions themselves are untouched.
    assert_eq!(original::total(&[1.0, 2.0]), 6.0);
    assert_eq!(reformatted::scale(&[1.0], 3.0), vec![3.0]);
}

#[test]
fn a_node_keyed_by_its_macro_version_recomputes_after_an_edit() {
    let (storage, _dir) = file_storage();
    let run = |version: CodeVersion| {
        storage
            .node("wf", "total")
            .version(version)
            .run(|| original::total(&[1.0, 2.0]))
            .unwrap()
            .verdict
    };
    run(original::TOTAL_VERSION);
    assert!(run(original::TOTAL_VERSION).is_fresh());
    let after_edit = run(edited::TOTAL_VERSION);
    assert!(
        matches!(after_edit.reasons(), [Reason::VersionChanged { .. }]),
        "{after_edit}"
    );
    assert_eq!(
        after_edit,
        Verdict::Recompute(vec![Reason::VersionChanged {
            from: Some(original::TOTAL_VERSION.to_string()),
            to: Some(edited::TOTAL_VERSION.to_string()),
        }])
    );
}
