//! Install-tier tests: a fresh deployment serves, and its entry service reaches every
//! dependency.

use super::probe::{check_rev, expect_index, expect_status, get};
use super::{Checked, Ctx, Failure, Verdict, all_ok, skip};

/// `GET /` on the entry service answers 200 with `expect.index_contains`.
pub(super) fn test_serving(ctx: &mut Ctx<'_>) -> Checked {
    let deployment = ctx.main()?;
    let Some(expected) = &deployment.recipe().expect.index_contains else {
        return skip("recipe declares no expect.index_contains");
    };
    expect_index(deployment.entry_addr()?, expected, "")?;
    Ok(Verdict::Pass)
}

/// Every service is healthy, and the entry service reaches each of its dependencies (health
/// and revision) through its `/api/<dependency>/` proxy.
pub(super) fn test_serving_and_frontend(ctx: &mut Ctx<'_>) -> Checked {
    let deployment = ctx.main()?;
    let recipe = deployment.recipe();
    let mut problems = Vec::new();
    for (name, addr) in deployment.service_addrs() {
        let response = get(addr, "/health")?;
        if let Err(Failure(message)) =
            expect_status(&response, 200, &format!("{name}: GET /health"))
        {
            problems.push(message);
        }
    }
    let dependencies = recipe
        .entry()
        .map(|def| def.depends_on.clone())
        .unwrap_or_default();
    if dependencies.is_empty() {
        return skip("the entry service has no dependencies to serve through");
    }
    let entry = deployment.entry_addr()?;
    for dependency in dependencies {
        let path = format!("/api/{dependency}/version");
        let response = get(entry, &path)?;
        let what = format!("{}: GET {path}", recipe.meta.entry);
        match expect_status(&response, 200, &what) {
            Err(Failure(message)) => problems.push(message),
            Ok(()) => {
                if let Err(message) = check_rev(&response, &recipe.rev) {
                    problems.push(format!("{what}: {message}"));
                }
            }
        }
    }
    all_ok(problems)
}
