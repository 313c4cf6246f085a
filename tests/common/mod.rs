//! Helpers shared by the integration tests that drive cargo the way a user would.

use std::path::Path;
use std::process::Command;

/// A cargo command run in `dir`, with the variables of an enclosing nextest run removed so the
/// nested command behaves as if a user typed it.
pub fn cargo_in(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("NEXTEST") || key.starts_with("__NEXTEST") {
            command.env_remove(key.as_ref());
        }
    }
    command
}
