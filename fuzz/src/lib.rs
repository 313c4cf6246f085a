//! What every streaming-adapter fuzz target checks, whatever the input: no panic, no hang, no
//! unbounded growth (libFuzzer's limits), every message within the bound, no more tests than
//! the input can describe, and reading through a buffer of a few bytes gives exactly what
//! reading the input whole gives (tests and result alike).

use std::io::BufReader;

use coalmine::results::adapter::{Adapter, MAX_MESSAGE_BYTES};

/// Runs the checks for one input; `max_tests` is the most tests this input can describe.
pub fn check(adapter: &dyn Adapter, data: &[u8], max_tests: usize) {
    let _ = adapter.sniff(&data[..data.len().min(4096)]);
    let mut input = data;
    let mut tests = Vec::new();
    let whole = adapter.read(&mut input, &mut |test| {
        if let Some(message) = &test.message {
            assert!(
                message.len() <= MAX_MESSAGE_BYTES + 64,
                "an unbounded message"
            );
        }
        assert!(test.attempts >= 1);
        tests.push(test);
    });
    assert!(tests.len() <= max_tests, "more tests than the input holds");
    let capacity = usize::from(data.first().copied().unwrap_or(0) % 7) + 1;
    let mut chunked = BufReader::with_capacity(capacity, data);
    let mut again = Vec::new();
    let chunked_result = adapter.read(&mut chunked, &mut |test| again.push(test));
    assert_eq!(tests, again, "the chunking changed the tests");
    assert_eq!(
        whole.map_err(|error| format!("{error:?}")),
        chunked_result.map_err(|error| format!("{error:?}")),
        "the chunking changed the result"
    );
}
