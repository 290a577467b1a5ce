//! `ffuse` run as a user runs it, against real file storages and the
//! in-test S3 server; every command's JSON is parsed.

// Test helpers fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod copy;
mod explain;
mod gc;
mod inspect;
mod remove;
mod retention;
mod verify;
