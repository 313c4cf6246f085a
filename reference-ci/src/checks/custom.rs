//! Custom-tier tests: the recipe's functional checks of content roundtrips, media types and
//! the docroot being served byte for byte.

use std::fs;
use std::net::SocketAddr;

use super::probe::{excerpt, expect_status, get, nonce, put};
use super::{Checked, Ctx, Failure, Verdict, all_ok, skip};
use crate::volumes;

/// Writes `body` at `<data_path><name>` through the entry service and reads it back.
/// Returns the entry service's address.
fn roundtrip(ctx: &Ctx<'_>, name: &str, body: &str) -> Result<SocketAddr, Failure> {
    let deployment = ctx.main()?;
    let recipe = deployment.recipe();
    let data_path = recipe.expect.data_path.as_deref().unwrap_or_default();
    let url = format!("{data_path}{name}");
    let entry = deployment.entry_addr()?;
    let response = put(entry, &url, body, ctx.token(recipe).as_deref())?;
    expect_status(&response, 201, &format!("PUT {url}"))?;
    let response = get(entry, &url)?;
    expect_status(&response, 200, &format!("GET {url}"))?;
    if response.body != body.as_bytes() {
        return Err(Failure(format!(
            "GET {url}: got {:?}, expected what was written ({body:?})",
            excerpt(&response)
        )));
    }
    Ok(entry)
}

/// Content written through the entry service reads back identically, and writing without the
/// token is refused when the recipe protects writes.
pub(super) fn test_content_roundtrip(ctx: &mut Ctx<'_>) -> Checked {
    let Some(data_path) = ctx.recipe.expect.data_path.clone() else {
        return skip("recipe declares no expect.data_path");
    };
    let entry = roundtrip(
        ctx,
        "roundtrip.html",
        &format!("<p>roundtrip {}</p>\n", nonce()),
    )?;
    if ctx.recipe.expect.write_secret.is_some() {
        let response = put(entry, &format!("{data_path}intruder.html"), "x", None)?;
        expect_status(
            &response,
            401,
            &format!("PUT {data_path}intruder.html without a token"),
        )?;
    }
    Ok(Verdict::Pass)
}

/// A document written through the entry service reads back identically and is listed.
pub(super) fn test_document_roundtrip(ctx: &mut Ctx<'_>) -> Checked {
    let Some(data_path) = ctx.recipe.expect.data_path.clone() else {
        return skip("recipe declares no expect.data_path");
    };
    let name = "roundtrip-doc.md";
    let entry = roundtrip(ctx, name, &format!("# Roundtrip\n\nwritten {}\n", nonce()))?;
    let listing = get(entry, &data_path)?;
    expect_status(&listing, 200, &format!("GET {data_path}"))?;
    if listing.body_text().lines().any(|line| line == name) {
        Ok(Verdict::Pass)
    } else {
        Err(Failure(format!(
            "GET {data_path}: listing {:?} lacks {name}",
            excerpt(&listing)
        )))
    }
}

/// Each path in `expect.content_types` is served with that media type.
pub(super) fn test_content_type_html_and_txt(ctx: &mut Ctx<'_>) -> Checked {
    let deployment = ctx.main()?;
    let expected_types = &deployment.recipe().expect.content_types;
    if expected_types.is_empty() {
        return skip("recipe declares no expect.content_types");
    }
    let entry = deployment.entry_addr()?;
    let mut problems = Vec::new();
    for (path, expected) in expected_types {
        let response = get(entry, path)?;
        if let Err(Failure(message)) = expect_status(&response, 200, &format!("GET {path}")) {
            problems.push(message);
        } else if response.media_type() != expected {
            problems.push(format!(
                "GET {path}: Content-Type was '{}', expected '{expected}'",
                response.media_type()
            ));
        }
    }
    all_ok(problems)
}

/// Every file of the entry service's docroot is served with status 200 and its exact bytes.
pub(super) fn test_custom_html_returns_200(ctx: &mut Ctx<'_>) -> Checked {
    let deployment = ctx.main()?;
    let recipe = deployment.recipe();
    let Some(docroot) = recipe.entry().and_then(|def| def.docroot.as_deref()) else {
        return skip("the entry service has no docroot");
    };
    let docroot = recipe.data_file(docroot);
    let files = volumes::files_under(&docroot);
    if files.is_empty() {
        return Err(Failure(format!(
            "docroot {} has no files",
            docroot.display()
        )));
    }
    let entry = deployment.entry_addr()?;
    let mut problems = Vec::new();
    for file in files {
        let Ok(relative) = file.strip_prefix(&docroot) else {
            continue;
        };
        let url: String = relative
            .components()
            .map(|part| format!("/{}", part.as_os_str().to_string_lossy()))
            .collect();
        let response = get(entry, &url)?;
        if let Err(Failure(message)) = expect_status(&response, 200, &format!("GET {url}")) {
            problems.push(message);
        } else if fs::read(&file).map_or(true, |content| content != response.body) {
            problems.push(format!("GET {url}: body differs from {}", file.display()));
        }
    }
    all_ok(problems)
}
