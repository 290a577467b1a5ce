//! AFL++ entry point of the `header` target.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        functionfuse_fuzz::header(data);
    });
}
