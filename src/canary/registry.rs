//! Canaries registered with [`canary!`](macro@crate::canary) through `inventory`: each registration
//! carries the name and declaration site as constants (so listing and `--exact` never build a
//! canary) and a function that builds the [`Canary`] when it is about to run.

use crate::canary::{Canary, SourceLocation};

/// One `canary!` declaration.
#[derive(Debug)]
pub struct Registration {
    /// The declared name.
    pub name: &'static str,
    /// Where it was declared.
    pub location: SourceLocation,
    /// Builds the canary.
    pub build: fn() -> Canary,
}

impl Registration {
    /// A registration (used by [`canary!`](macro@crate::canary)).
    pub const fn new(
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        build: fn() -> Canary,
    ) -> Self {
        Registration {
            name,
            location: SourceLocation { file, line, column },
            build,
        }
    }
}

inventory::collect!(Registration);

/// Every registered canary, in link order (the harness sorts them).
pub fn registered() -> impl Iterator<Item = &'static Registration> {
    inventory::iter::<Registration>.into_iter()
}
