//! Per-run secret values and the leak scan. A recipe only names its secrets; the CI generates
//! fresh random values for every run (as a real deployment tool would), hands them to the
//! services through the environment, and after teardown scans every file the run wrote under
//! the artifacts dir for any of them. Values never appear in `Debug` output or results.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::PathBuf;

use crate::error::Error;
use crate::race::{SplitMix64, clock_seed};

/// Generated secret values by name.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: a stray `{:?}` must not become a leak.
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Secrets {
    /// Generates a 32-hex-digit value for each name, from the kernel's random source when
    /// available and the clock otherwise.
    pub fn generate(names: &[String]) -> Secrets {
        let mut fallback = SplitMix64::new(clock_seed());
        let values = names
            .iter()
            .map(|name| {
                let bytes = random_bytes().unwrap_or_else(|| {
                    let mut bytes = [0u8; 16];
                    bytes[..8].copy_from_slice(&fallback.next_u64().to_le_bytes());
                    bytes[8..].copy_from_slice(&fallback.next_u64().to_le_bytes());
                    bytes
                });
                let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
                (name.clone(), hex)
            })
            .collect();
        Secrets { values }
    }

    /// Secrets with fixed values (for tests).
    #[cfg(test)]
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Secrets {
        Secrets {
            values: pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Finds every (file, secret name) pair where a file at or under one of `roots` contains
    /// the secret's value; roots that do not exist are skipped. Symlinks are not followed: the
    /// run never writes any, and following one could scan files the run does not own.
    pub fn scan(&self, roots: &[PathBuf]) -> Result<Vec<Leak>, Error> {
        let mut leaks = Vec::new();
        let mut pending = roots.to_vec();
        while let Some(path) = pending.pop() {
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(Error::io(format!("scanning {}", path.display()), error)),
            };
            if meta.is_dir() {
                let entries = fs::read_dir(&path)
                    .map_err(|error| Error::io(format!("scanning {}", path.display()), error))?;
                for entry in entries {
                    let entry = entry.map_err(|error| {
                        Error::io(format!("scanning {}", path.display()), error)
                    })?;
                    pending.push(entry.path());
                }
            } else if meta.is_file() {
                let content = fs::read(&path)
                    .map_err(|error| Error::io(format!("reading {}", path.display()), error))?;
                for (name, value) in &self.values {
                    if contains(&content, value.as_bytes()) {
                        leaks.push(Leak {
                            file: path.clone(),
                            secret: name.clone(),
                        });
                    }
                }
            }
        }
        leaks.sort_by(|a, b| (&a.file, &a.secret).cmp(&(&b.file, &b.secret)));
        Ok(leaks)
    }
}

/// A secret value found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The file containing it.
    pub file: PathBuf,
    /// The secret's name (never its value).
    pub secret: String,
}

fn random_bytes() -> Option<[u8; 16]> {
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .ok()?;
    Some(bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_distinct_hex_and_redacted_in_debug() {
        let secrets = Secrets::generate(&["a".to_owned(), "b".to_owned()]);
        let (a, b) = (secrets.get("a").unwrap(), secrets.get("b").unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let debug = format!("{secrets:?}");
        assert!(!debug.contains(a) && debug.contains("\"a\""));
    }

    #[test]
    fn scan_finds_values_in_nested_files_only() {
        let dir = std::env::temp_dir().join(format!("reference-ci-secrets-{}", std::process::id()));
        fs::create_dir_all(dir.join("services")).unwrap();
        fs::write(
            dir.join("services/web.log"),
            "GET / -> 200\ntoken=hunter2hunter2\n",
        )
        .unwrap();
        fs::write(dir.join("clean.txt"), "nothing to see").unwrap();
        let secrets =
            Secrets::from_pairs([("api_token", "hunter2hunter2"), ("other", "zzz-never")]);
        let leaks = secrets.scan(&[dir.clone(), dir.join("missing")]).unwrap();
        assert_eq!(
            leaks,
            [Leak {
                file: dir.join("services/web.log"),
                secret: "api_token".into()
            }]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_needles_never_match() {
        assert!(!contains(b"abc", b""));
        assert!(contains(b"abc", b"bc"));
    }
}
