//! HTTP and text helpers shared by the tests: requests whose transport errors become test
//! failures, status and content expectations with readable messages, and probe values.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Failure;
use crate::http::{self, Request, Response};

/// Longest body excerpt quoted in a failure message.
const EXCERPT_CHARS: usize = 120;

/// Sends `request`; a transport error (refused, timeout, garbage) fails the test.
fn send(addr: SocketAddr, request: Request) -> Result<Response, Failure> {
    http::send(addr, &request)
        .map_err(|error| Failure(format!("{} {}: {error}", request.method, request.path)))
}

/// `GET path` at `addr`.
pub(super) fn get(addr: SocketAddr, path: &str) -> Result<Response, Failure> {
    send(addr, Request::new("GET", path))
}

/// `PUT path` at `addr` with `body`, authorized by `token` if given.
pub(super) fn put(
    addr: SocketAddr,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> Result<Response, Failure> {
    let mut request = Request::new("PUT", path).with_body(body);
    if let Some(token) = token {
        request = request.with_header("Authorization", &format!("Bearer {token}"));
    }
    send(addr, request)
}

/// The start of a response body, trimmed, for quoting in messages.
pub(super) fn excerpt(response: &Response) -> String {
    let text = response.body_text();
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The response has `status`; otherwise fails with `what`, both statuses and a body excerpt.
pub(super) fn expect_status(response: &Response, status: u16, what: &str) -> Result<(), Failure> {
    if response.status == status {
        Ok(())
    } else {
        Err(Failure(format!(
            "{what}: status {}, expected {status} ({:?})",
            response.status,
            excerpt(response)
        )))
    }
}

/// `GET /` on `addr` answers 200 with a body containing `expected`.
pub(super) fn expect_index(addr: SocketAddr, expected: &str, when: &str) -> Result<(), Failure> {
    let response = get(addr, "/")?;
    expect_status(&response, 200, &format!("GET /{when}"))?;
    if response.body_text().contains(expected) {
        Ok(())
    } else {
        Err(Failure(format!(
            "GET /{when}: body does not contain {expected:?} (got {:?})",
            excerpt(&response)
        )))
    }
}

/// A value unique to this moment, so probes from earlier runs can never satisfy a test.
pub(super) fn nonce() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

/// The `rev` a `/version` response reports equals `rev`.
pub(super) fn check_rev(response: &Response, rev: &str) -> Result<(), String> {
    let version: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|_| format!("not a version document: {:?}", excerpt(response)))?;
    match version["rev"].as_str() {
        Some(reported) if reported == rev => Ok(()),
        Some(reported) => Err(format!("reports rev {reported}, expected {rev}")),
        None => Err("reports no rev".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rev_reads_version_documents() {
        let ok = Response::json(200, &serde_json::json!({"rev": "abc"}));
        assert_eq!(check_rev(&ok, "abc"), Ok(()));
        assert_eq!(
            check_rev(&ok, "def"),
            Err("reports rev abc, expected def".to_owned())
        );
        assert!(check_rev(&Response::text(200, "warming up"), "abc").is_err());
    }

    #[test]
    fn excerpts_are_bounded() {
        let long = Response::text(200, "x".repeat(1000));
        assert_eq!(excerpt(&long).len(), EXCERPT_CHARS + 3);
        let status = expect_status(&Response::text(404, "not found\n"), 200, "GET /").unwrap_err();
        assert_eq!(status.0, "GET /: status 404, expected 200 (\"not found\")");
    }
}
