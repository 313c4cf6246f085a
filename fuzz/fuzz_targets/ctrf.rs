//! Feeds arbitrary bytes to the CTRF adapter: it must never panic, hang or grow without bound,
//! whatever the input; every test it hands out keeps its message within the bound, there are no
//! more tests than the input can describe (an element per test), and reading through a buffer of a
//! few bytes gives exactly what reading it whole gives.

#![no_main]

use std::io::BufReader;

use coalmine::results::adapter::{Adapter, MAX_MESSAGE_BYTES};
use coalmine::results::formats::Ctrf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Ctrf.sniff(&data[..data.len().min(4096)]);
    let mut input = data;
    let mut tests = Vec::new();
    let whole = Ctrf.read(&mut input, &mut |test| {
        if let Some(message) = &test.message {
            assert!(
                message.len() <= MAX_MESSAGE_BYTES + 64,
                "an unbounded message"
            );
        }
        assert!(test.attempts >= 1);
        tests.push(test);
    });
    assert!(
        tests.len() <= data.len() + 1,
        "more tests than the input holds"
    );
    let capacity = usize::from(data.first().copied().unwrap_or(0) % 7) + 1;
    let mut chunked = BufReader::with_capacity(capacity, data);
    let mut again = Vec::new();
    let chunked_result = Ctrf.read(&mut chunked, &mut |test| again.push(test));
    assert_eq!(tests, again, "the chunking changed the tests");
    assert_eq!(
        whole.map_err(|error| format!("{error:?}")),
        chunked_result.map_err(|error| format!("{error:?}")),
        "the chunking changed the result"
    );
});
