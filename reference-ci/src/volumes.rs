//! Service volumes: one folder per service of a deployment holding its mutable state
//! (`<deployment>/volumes/<service>/...`). This module implements the operations a recipe
//! declares on them: data migrations on upgrade, and backup/restore of declared paths to and
//! from an archive folder (`<archive>/<service>/<path>`). Paths were checked at recipe load to
//! stay inside their volume.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::recipe::{BackupPath, Migration};

/// What a migration, backup or restore did, for diagnostics and test messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `service:path` entries that were handled.
    pub done: Vec<String>,
    /// `service:path` entries whose source did not exist (nothing to do).
    pub missing: Vec<String>,
}

/// The volume of `service` under `volumes`.
pub fn volume(volumes: &Path, service: &str) -> PathBuf {
    volumes.join(service)
}

/// Runs `migrations` in order. A migration whose source does not exist is recorded as missing
/// and skipped: the data it would move was never written.
pub fn migrate(volumes: &Path, migrations: &[Migration]) -> Result<Report, Error> {
    let mut report = Report::default();
    for migration in migrations {
        let Migration::Rename { service, from, to } = migration;
        let volume = volume(volumes, service);
        let (source, target) = (volume.join(from), volume.join(to));
        let entry = format!("{service}:{from} -> {to}");
        if !source.exists() {
            report.missing.push(entry);
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|error| Error::io(format!("migration {entry}"), error))?;
        }
        fs::rename(&source, &target)
            .map_err(|error| Error::io(format!("migration {entry}"), error))?;
        report.done.push(entry);
    }
    Ok(report)
}

/// Copies each declared path from its service's volume into `archive`, replacing any earlier
/// archive. Paths that do not exist are recorded as missing, as a backup tool would warn and
/// carry on; whether the archive is good enough is for the tests to judge.
pub fn backup(volumes: &Path, paths: &[BackupPath], archive: &Path) -> Result<Report, Error> {
    remove_if_exists(archive)?;
    fs::create_dir_all(archive)
        .map_err(|error| Error::io(format!("creating {}", archive.display()), error))?;
    let mut report = Report::default();
    for path in paths {
        let entry = format!("{}:{}", path.service, path.path);
        let source = volume(volumes, &path.service).join(&path.path);
        if !source.exists() {
            report.missing.push(entry);
            continue;
        }
        let target = archive.join(&path.service).join(&path.path);
        copy_tree(&source, &target)
            .map_err(|error| Error::io(format!("backing up {entry}"), error))?;
        report.done.push(entry);
    }
    Ok(report)
}

/// Copies each declared path from `archive` back into its service's volume at the path's
/// restore target, replacing what is there.
pub fn restore(volumes: &Path, paths: &[BackupPath], archive: &Path) -> Result<Report, Error> {
    let mut report = Report::default();
    for path in paths {
        let entry = format!("{}:{}", path.service, path.restore_target());
        let source = archive.join(&path.service).join(&path.path);
        if !source.exists() {
            report.missing.push(entry);
            continue;
        }
        let target = volume(volumes, &path.service).join(path.restore_target());
        remove_if_exists(&target)?;
        copy_tree(&source, &target)
            .map_err(|error| Error::io(format!("restoring {entry}"), error))?;
        report.done.push(entry);
    }
    Ok(report)
}

/// Empties a service's volume (the "lost the disk" half of a restore test).
pub fn wipe(volumes: &Path, service: &str) -> Result<(), Error> {
    let volume = volume(volumes, service);
    remove_if_exists(&volume)?;
    fs::create_dir_all(&volume)
        .map_err(|error| Error::io(format!("creating {}", volume.display()), error))
}

/// Removes a file or folder tree if present.
pub fn remove_if_exists(path: &Path) -> Result<(), Error> {
    let result = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => Err(error),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.map_err(|error| Error::io(format!("removing {}", path.display()), error))
}

/// Copies a file or a folder tree. Symlinks are skipped: volumes never contain any, and
/// following one could copy files from outside the volume.
fn copy_tree(source: &Path, target: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(source)?;
    if meta.is_dir() {
        fs::create_dir_all(target)?;
        for entry in fs::read_dir(source)? {
            let entry = entry?;
            copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
    } else if meta.is_file() {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(source, target)?;
    }
    Ok(())
}

/// All regular files under `dir`, recursively, sorted (empty if `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(kind) if kind.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("reference-ci-volumes-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn path(service: &str, path: &str, restore_to: Option<&str>) -> BackupPath {
        BackupPath {
            service: service.into(),
            path: path.into(),
            restore_to: restore_to.map(str::to_owned),
        }
    }

    #[test]
    fn migrations_rename_and_skip_missing_sources() {
        let root = scratch("migrate");
        fs::create_dir_all(root.join("web/uploads")).unwrap();
        fs::write(root.join("web/uploads/a.txt"), "A").unwrap();
        let report = migrate(
            &root,
            &[
                Migration::Rename {
                    service: "web".into(),
                    from: "uploads".into(),
                    to: "files".into(),
                },
                Migration::Rename {
                    service: "web".into(),
                    from: "cache".into(),
                    to: "tmp".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(report.done, ["web:uploads -> files"]);
        assert_eq!(report.missing, ["web:cache -> tmp"]);
        assert_eq!(
            fs::read_to_string(root.join("web/files/a.txt")).unwrap(),
            "A"
        );
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn backup_then_restore_roundtrips_and_honours_restore_to() {
        let root = scratch("backup");
        let (volumes, archive) = (root.join("volumes"), root.join("archive"));
        fs::create_dir_all(volumes.join("web/content/sub")).unwrap();
        fs::write(volumes.join("web/content/sub/p.txt"), "P").unwrap();
        let paths = [path("web", "content", None), path("web", "nope", None)];
        let report = backup(&volumes, &paths, &archive).unwrap();
        assert_eq!((report.done.len(), report.missing.len()), (1, 1));
        assert_eq!(
            files_under(&archive),
            [archive.join("web/content/sub/p.txt")]
        );

        wipe(&volumes, "web").unwrap();
        assert!(files_under(&volumes).is_empty());
        restore(&volumes, &paths, &archive).unwrap();
        assert_eq!(
            fs::read_to_string(volumes.join("web/content/sub/p.txt")).unwrap(),
            "P"
        );

        wipe(&volumes, "web").unwrap();
        restore(
            &volumes,
            &[path("web", "content", Some("elsewhere"))],
            &archive,
        )
        .unwrap();
        assert_eq!(
            files_under(&volumes),
            [volumes.join("web/elsewhere/sub/p.txt")]
        );
        fs::remove_dir_all(root).unwrap();
    }
}
