//! Upgrade-tier tests: deploy the `upgrade_from` revision, upgrade to the revision under test
//! (stop, migrate, start), and check what a user would notice: new content served, old data
//! kept, and every service reconverged on the new revision within a bounded window.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use super::probe::{check_rev, excerpt, expect_index, expect_status, nonce, put};
use super::{Checked, Ctx, Failure, Verdict};
use crate::deploy::Deployment;
use crate::http::{self, Request};
use crate::recipe::Recipe;

/// How long an upgraded deployment gets to report the new revision everywhere.
pub const RECONVERGE_WINDOW: Duration = Duration::from_secs(2);
/// Pause between reconvergence polls.
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// Client timeout while polling, so one slow answer cannot stretch the window much.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

/// A file written through the entry service before an upgrade: (URL path, content).
type Probe = (String, String);

/// Writes a probe through `deployment`'s entry service if `recipe` declares a data path.
fn write_probe(
    ctx: &Ctx<'_>,
    deployment: &Deployment<'_>,
    name: &str,
) -> Result<Option<Probe>, Failure> {
    let recipe = deployment.recipe();
    let Some(data_path) = &recipe.expect.data_path else {
        return Ok(None);
    };
    let url = format!("{data_path}{name}");
    let body = format!(
        "written at {} before an upgrade ({})\n",
        recipe.rev,
        nonce()
    );
    let response = put(
        deployment.entry_addr()?,
        &url,
        &body,
        ctx.token(recipe).as_deref(),
    )?;
    expect_status(&response, 201, &format!("PUT {url} before the upgrade"))?;
    Ok(Some((url, body)))
}

/// Reads a probe back through `entry`; the error says how it differs.
fn read_probe(entry: SocketAddr, (url, body): &Probe, timeout: Duration) -> Result<(), String> {
    let response = http::send_with_timeout(entry, &Request::new("GET", url), timeout)
        .map_err(|error| format!("GET {url}: {error}"))?;
    if response.status != 200 {
        Err(format!(
            "GET {url}: status {}, expected 200 ({:?}); data written before the upgrade was lost",
            response.status,
            excerpt(&response)
        ))
    } else if response.body != body.as_bytes() {
        Err(format!(
            "GET {url}: content differs from what was written before the upgrade"
        ))
    } else {
        Ok(())
    }
}

/// Deploys `upgrade_from`, writes a probe through it, upgrades to this revision, and checks
/// that the new content is served and the probe survived (which is what a migration may break).
pub(super) fn test_serving_after_upgrade(ctx: &mut Ctx<'_>) -> Checked {
    let old = ctx.upgrade_from()?;
    let new = ctx.recipe;
    let mut deployment = Deployment::deploy("test_serving_after_upgrade", &old, ctx.env)?;
    if let Some(expected) = &old.expect.index_contains {
        expect_index(
            deployment.entry_addr()?,
            expected,
            &format!(" before the upgrade (at {})", old.rev),
        )?;
    }
    let probe = write_probe(ctx, &deployment, "upgrade-probe.txt")?;
    deployment.upgrade(new, &mut ctx.race)?;
    let entry = deployment.entry_addr()?;
    if let Some(expected) = &new.expect.index_contains {
        expect_index(entry, expected, " after the upgrade")?;
    }
    if let Some(probe) = &probe {
        read_probe(entry, probe, http::IO_TIMEOUT)
            .map_err(|gap| Failure(format!("after the upgrade: {gap}")))?;
    }
    deployment.teardown();
    Ok(Verdict::Pass)
}

/// Deploys `upgrade_from` and writes a probe document through it, redeploys every service at
/// this revision, and waits (up to [`RECONVERGE_WINDOW`]) until every service reports this
/// revision and the entry service serves `/`, reaches each dependency at this revision
/// through its proxy, and serves the probe from the backend.
pub(super) fn test_upgrade_reconverges(ctx: &mut Ctx<'_>) -> Checked {
    let old = ctx.upgrade_from()?;
    let new = ctx.recipe;
    let mut deployment = Deployment::deploy("test_upgrade_reconverges", &old, ctx.env)?;
    let probe = write_probe(ctx, &deployment, "reconverge-probe.md")?;
    deployment.upgrade(new, &mut ctx.race)?;
    let started = Instant::now();
    loop {
        let gaps = reconvergence_gaps(&deployment, new, probe.as_ref())?;
        if gaps.is_empty() {
            deployment.teardown();
            return Ok(Verdict::Pass);
        }
        if started.elapsed() >= RECONVERGE_WINDOW {
            return Err(Failure(format!(
                "not reconverged {} ms after the upgrade to {}: {}",
                started.elapsed().as_millis(),
                new.rev,
                gaps.join("; ")
            )));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// What still differs from a reconverged deployment (empty once reconverged).
fn reconvergence_gaps(
    deployment: &Deployment<'_>,
    target: &Recipe,
    probe: Option<&Probe>,
) -> Result<Vec<String>, Failure> {
    let fetch = |addr: SocketAddr, path: &str| {
        http::send_with_timeout(addr, &Request::new("GET", path), POLL_TIMEOUT)
            .map_err(|error| error.to_string())
            .and_then(|response| {
                if response.status == 200 {
                    Ok(response)
                } else {
                    Err(format!(
                        "status {} ({:?})",
                        response.status,
                        excerpt(&response)
                    ))
                }
            })
    };
    let mut gaps = Vec::new();
    for (name, addr) in deployment.service_addrs() {
        if let Err(gap) = fetch(addr, "/version").and_then(|r| check_rev(&r, &target.rev)) {
            gaps.push(format!("{name}: GET /version: {gap}"));
        }
    }
    let entry_name = &target.meta.entry;
    let entry = deployment.entry_addr()?;
    if let Err(gap) = fetch(entry, "/") {
        gaps.push(format!("{entry_name}: GET /: {gap}"));
    }
    for dependency in target
        .entry()
        .map(|def| def.depends_on.as_slice())
        .unwrap_or_default()
    {
        let path = format!("/api/{dependency}/version");
        if let Err(gap) = fetch(entry, &path).and_then(|r| check_rev(&r, &target.rev)) {
            gaps.push(format!("{entry_name}: GET {path}: {gap}"));
        }
    }
    if let Some(probe) = probe
        && let Err(gap) = read_probe(entry, probe, POLL_TIMEOUT)
    {
        gaps.push(format!("{entry_name}: {gap}"));
    }
    Ok(gaps)
}
