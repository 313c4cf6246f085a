//! Feeds arbitrary bytes to the cc-ci results parser (and to `auto` detection, which tries every
//! format): it must never panic, hang or grow without bound, whatever the input.

#![no_main]

use coalmine::results::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Format::CcCi.parse(&mut &data[..]);
    let _ = Format::Auto.parse(&mut &data[..]);
});
