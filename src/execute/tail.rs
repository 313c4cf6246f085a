//! The last lines of a log file, read from its end so that a huge log costs no more than a
//! small one.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How much of the end of a file is read to find its last lines.
const WINDOW: u64 = 64 * 1024;
/// Lines longer than this are cut.
const MAX_LINE: usize = 400;

/// The last `count` lines of a file (lossy UTF-8, long lines cut), or why it cannot be read.
pub fn last_lines(path: &Path, count: usize) -> std::io::Result<Vec<String>> {
    let mut file = File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(WINDOW).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // probably a partial line
    }
    let skip = lines.len().saturating_sub(count);
    Ok(lines[skip..]
        .iter()
        .map(|line| {
            if line.chars().count() > MAX_LINE {
                format!("{}…", line.chars().take(MAX_LINE).collect::<String>())
            } else {
                (*line).to_owned()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_end_of_a_large_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut text = String::new();
        for index in 0..20_000 {
            text.push_str(&format!("line {index}\n"));
        }
        std::fs::write(&path, text).unwrap();
        assert_eq!(last_lines(&path, 2).unwrap(), ["line 19998", "line 19999"]);
        std::fs::write(&path, "only\n").unwrap();
        assert_eq!(last_lines(&path, 5).unwrap(), ["only"]);
        std::fs::write(&path, "x".repeat(1000)).unwrap();
        assert!(last_lines(&path, 1).unwrap()[0].ends_with('…'));
        assert!(last_lines(&dir.path().join("none"), 1).is_err());
    }
}
