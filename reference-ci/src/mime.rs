//! Media-type tables in the `/etc/mime.types` format (`type ext ext...` per line, `#`
//! comments). A recipe revision ships its own table; a static service answers every file with
//! the type its table gives the file's extension, so a stale table in the data is exactly what
//! a client sees.

use std::collections::BTreeMap;

/// The type of files whose extension the table does not list (what nginx does too).
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// Extension -> media type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MimeTable {
    by_extension: BTreeMap<String, String>,
}

impl MimeTable {
    /// Parses a table. Returns the 1-based number of the first line that has a type but no
    /// extension, or whose type is not `major/minor`.
    pub fn parse(text: &str) -> Result<MimeTable, usize> {
        let mut by_extension = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(media_type) = words.next() else {
                continue;
            };
            let extensions: Vec<&str> = words.collect();
            if extensions.is_empty() || media_type.split('/').count() != 2 {
                return Err(index + 1);
            }
            for extension in extensions {
                by_extension.insert(extension.to_ascii_lowercase(), media_type.to_owned());
            }
        }
        Ok(MimeTable { by_extension })
    }

    /// The media type for a file name, by its extension; [`DEFAULT_TYPE`] if unknown.
    pub fn type_for(&self, file_name: &str) -> &str {
        file_name
            .rsplit_once('.')
            .and_then(|(_, extension)| self.by_extension.get(&extension.to_ascii_lowercase()))
            .map_or(DEFAULT_TYPE, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_by_extension_case_insensitively() {
        let table =
            MimeTable::parse("# comment\ntext/html html htm\n\ntext/plain txt # plain\n").unwrap();
        assert_eq!(table.type_for("index.HTML"), "text/html");
        assert_eq!(table.type_for("a.b.htm"), "text/html");
        assert_eq!(table.type_for("hello.txt"), "text/plain");
    }

    #[test]
    fn unknown_extensions_get_the_default() {
        let table = MimeTable::parse("text/html html").unwrap();
        assert_eq!(table.type_for("hello.txt"), DEFAULT_TYPE);
        assert_eq!(table.type_for("README"), DEFAULT_TYPE);
    }

    #[test]
    fn rejects_lines_without_extensions_or_bad_types() {
        assert_eq!(MimeTable::parse("text/html html\ntext/plain\n"), Err(2));
        assert_eq!(MimeTable::parse("texthtml html\n"), Err(1));
    }
}
