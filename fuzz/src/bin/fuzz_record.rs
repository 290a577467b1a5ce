//! AFL++ entry point of the `record` target.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        functionfuse_fuzz::record(data);
    });
}
