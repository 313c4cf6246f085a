//! Running a recipe CI process: spawning without a shell in its own process group, timeouts
//! with a grace period, and reading back its logs.

pub mod interrupt;
pub mod pgroup;
pub mod process;
pub mod tail;
