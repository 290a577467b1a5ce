//! The core conformance suite, run against an S3 backend on a real
//! S3-protocol server (s3s-fs, in this process).

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fresh;

functionfuse_core::conformance_tests!(fresh);
