//! One module per results format, each a leaf behind [`Adapter`].

pub mod ctrf;
pub mod go_test_json;
pub mod junit;
pub mod libtest_json;
pub mod tap;

pub use ctrf::Ctrf;
pub use go_test_json::GoTestJson;
pub use junit::{Junit, JunitCase};
pub use libtest_json::LibtestJson;
pub use tap::Tap;

use super::adapter::Adapter;

/// Every streaming adapter, in the order `format = "auto"` tries them.
pub const ALL: &[&dyn Adapter] = &[&Junit, &Ctrf, &LibtestJson, &GoTestJson, &Tap];
