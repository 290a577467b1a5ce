//! AFL++ entry point of the `view` target.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        functionfuse_fuzz::view(data);
    });
}
