//! Backup- and restore-tier tests: data written through the entry service must end up in the
//! backup archive, and must be served again after the volumes are wiped and restored from it.

use std::fs;

use super::probe::{expect_status, get, nonce, put};
use super::{BackupRecord, Checked, Ctx, Failure, Verdict};
use crate::volumes;

/// Writes a probe through the entry service, backs up the declared paths, and checks that the
/// archive holds a byte-identical copy of the probe.
pub(super) fn test_backup_contains_data(ctx: &mut Ctx<'_>) -> Checked {
    let deployment = ctx.main()?;
    let recipe = deployment.recipe();
    let Some(backup) = &recipe.backup else {
        return Err(Failure(
            "recipe lists backup tests but declares no [backup] paths".to_owned(),
        ));
    };
    let Some(data_path) = &recipe.expect.data_path else {
        return Err(Failure(
            "recipe declares no expect.data_path to write test data through".to_owned(),
        ));
    };
    let name = "backup-probe.txt";
    let url = format!("{data_path}{name}");
    let body = format!("backup probe of {} ({})", recipe.label(), nonce());
    let response = put(
        deployment.entry_addr()?,
        &url,
        &body,
        ctx.token(recipe).as_deref(),
    )?;
    expect_status(&response, 201, &format!("PUT {url}"))?;

    let archive = ctx.env.artifacts.join("backup");
    let report = volumes::backup(deployment.volumes(), &backup.paths, &archive)?;
    let found = volumes::files_under(&archive).into_iter().any(|file| {
        file.file_name().is_some_and(|n| n == name)
            && fs::read(&file).is_ok_and(|c| c == body.as_bytes())
    });
    if !found {
        return Err(Failure(format!(
            "backup archive {} has no copy of {name} written via PUT {url} (backed up: [{}]; missing: [{}])",
            archive.display(),
            report.done.join(", "),
            report.missing.join(", ")
        )));
    }
    ctx.backup = Some(BackupRecord { archive, url, body });
    Ok(Verdict::Pass)
}

/// Stops the deployment, wipes the backed-up services' volumes, restores the archive, starts
/// the deployment again and checks over HTTP that the probe is served again.
pub(super) fn test_restore_roundtrip(ctx: &mut Ctx<'_>) -> Checked {
    let Some(record) = ctx.backup.clone() else {
        return Err(Failure("no verified backup to restore from".to_owned()));
    };
    let deployment = ctx.main_mut()?;
    let paths = deployment
        .recipe()
        .backup
        .as_ref()
        .map(|backup| backup.paths.clone())
        .unwrap_or_default();
    deployment.stop();
    let mut wiped: Vec<&str> = paths.iter().map(|path| path.service.as_str()).collect();
    wiped.sort_unstable();
    wiped.dedup();
    for service in wiped {
        volumes::wipe(deployment.volumes(), service)?;
    }
    let report = volumes::restore(deployment.volumes(), &paths, &record.archive)?;
    deployment.restart()?;
    let response = get(deployment.entry_addr()?, &record.url)?;
    expect_status(
        &response,
        200,
        &format!(
            "GET {} after the restore (restored: [{}])",
            record.url,
            report.done.join(", ")
        ),
    )?;
    if response.body != record.body.as_bytes() {
        return Err(Failure(format!(
            "GET {} after the restore: content differs from the backup",
            record.url
        )));
    }
    Ok(Verdict::Pass)
}
