//! How the PostgreSQL store reaches its server: the URL as libpq reads it (a `host` parameter
//! naming a unix socket), checked from its text alone for harness.toml; the password from
//! `PGPASSWORD` or the password file; and a failed connection turned into the error that says
//! what to look at (unreachable, TLS, or what the server said).

use std::path::{Path, PathBuf};

use postgres::Config;
use postgres::config::Host;
use postgres::error::SqlState;

use crate::history::error::HistoryError;
use crate::history::store::url_text;
use crate::history::tls::Tls;

/// The URL text of `location` when it names a PostgreSQL server (`postgres://` or
/// `postgresql://`, also as the last part of a path joined to harness.toml's folder).
pub(crate) fn url_of(location: &Path) -> Option<String> {
    url_text(location)
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
}

/// What is wrong with `url` as a history's URL, if anything, from its text alone (no
/// connection, no file read, no environment): an unknown parameter, a `sslmode` that is not
/// one, a port that is not a number. What harness.toml's `[history] url` is checked with.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    // The mode may come from PGSSLMODE when the command runs: only the URL's own is judged.
    let mode_at_run_time = |name: &str| (name == "PGSSLMODE").then(|| "verify-full".to_owned());
    parse_url(url, mode_at_run_time).map(|_| ())
}

/// `url` read as the client's configuration and the TLS settings, with `env` giving the
/// `PGSSL*` variables the URL does not; what is wrong with it otherwise.
pub(super) fn parse_url(
    url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Config, Tls), String> {
    let (client_url, tls) = crate::history::tls::split_with(url, env)?;
    let config = libpq_url(&client_url).parse::<Config>().map_err(|error| {
        format!(
            "it is not a valid PostgreSQL URL: {}",
            crate::history::error::server_said(&error)
        )
    })?;
    Ok((config, tls))
}

/// `url` as libpq reads it: a `host` parameter (`?host=/run/postgresql`) replaces the host of
/// the authority (the `postgres` crate would try both), whose port becomes a `port` parameter
/// unless one is given.
pub(crate) fn libpq_url(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let has = |key: &str| {
        query
            .split('&')
            .any(|param| param.split_once('=').is_some_and(|(name, _)| name == key))
    };
    if !has("host") {
        return url.to_owned();
    }
    let Some(scheme_end) = head.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |at| scheme_end + at);
    let authority = &head[scheme_end..authority_end];
    let (user, hostport) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let port = match hostport.rfind(':') {
        Some(colon) if !hostport[colon..].contains(']') => Some(&hostport[colon + 1..]),
        _ => None,
    };
    let mut rebuilt = format!(
        "{}{user}{}?{query}",
        &head[..scheme_end],
        &head[authority_end..]
    );
    if let Some(port) = port.filter(|port| !port.is_empty() && !has("port")) {
        rebuilt.push_str("&port=");
        rebuilt.push_str(port);
    }
    rebuilt
}

/// The error of a failed connection: [`HistoryError::Unreachable`] when the connection itself
/// failed (refused, no socket, a name that does not resolve, a timeout),
/// [`HistoryError::Tls`] when the TLS handshake did, else what the server said
/// (authentication, a missing database) or the client about what it was given (no password).
pub(super) fn connect_error(
    error: postgres::Error,
    config: &Config,
    shown: &Path,
    mode: crate::history::tls::Mode,
) -> HistoryError {
    let mut rustls_error = None;
    let mut io = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<rustls::Error>() {
            rustls_error = Some(found);
        } else if let Some(found) = cause.downcast_ref::<std::io::Error>() {
            io = true;
            if let Some(found) = found.get_ref().and_then(|inner| inner.downcast_ref()) {
                rustls_error = Some(found);
            }
        }
        source = cause.source();
    }
    let handshake = error
        .to_string()
        .starts_with("error performing TLS handshake");
    if handshake || rustls_error.is_some() {
        let advice = match rustls_error {
            Some(reason) => crate::history::tls::advice(reason, mode),
            None if error.to_string().contains("does not support TLS") => {
                "the server does not offer TLS: turn `ssl` on in its postgresql.conf, or, on a \
                 trusted network, use sslmode=prefer or disable"
            }
            None => "check the server's TLS settings and the URL's sslmode",
        };
        let detail = match std::error::Error::source(&error) {
            Some(cause) => cause.to_string(),
            None => error.to_string(),
        };
        return HistoryError::Tls {
            url: shown.to_path_buf(),
            server: server_of(config),
            mode: mode.name(),
            detail,
            advice,
        };
    }
    if io && error.as_db_error().is_none() {
        HistoryError::Unreachable {
            url: shown.to_path_buf(),
            server: server_of(config),
            detail: crate::history::error::server_said(&error),
        }
    } else {
        let code = error.code();
        let doing = if code == Some(&SqlState::INVALID_CATALOG_NAME) {
            "connecting (create the database first: `createdb --owner USER NAME`)"
        } else if code == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) {
            "connecting (the server's pg_hba.conf refuses this user, database or kind of \
             connection: check the URL's user, its sslmode, and the client certificate)"
        } else if code == Some(&SqlState::INVALID_PASSWORD)
            || (code.is_none() && error.to_string().contains("password"))
        {
            "connecting (a password can come from PGPASSWORD or ~/.pgpass)"
        } else {
            "connecting"
        };
        HistoryError::Postgres {
            url: shown.to_path_buf(),
            doing,
            source: error,
        }
    }
}

/// The server as messages name it: `host:port`, or the socket file.
pub(super) fn server_of(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
        })
        .collect();
    hosts.join(", ")
}

/// The password for `config` from `PGPASSWORD`, else from the password file.
pub(super) fn password_for(config: &Config) -> Option<String> {
    if let Some(password) = std::env::var("PGPASSWORD")
        .ok()
        .filter(|value| !value.is_empty())
    {
        return Some(password);
    }
    let file = match std::env::var_os("PGPASSFILE").filter(|value| !value.is_empty()) {
        Some(file) => PathBuf::from(file),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    let text = read_password_file(&file)?;
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(_) => "localhost".to_owned(),
        })
        .collect();
    let host = hosts.first().map_or("localhost", String::as_str);
    password_in(&text, host, &port, database, user)
}

/// The password file's text, when it may be used: libpq ignores a file that others may read.
pub(super) fn read_password_file(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(file).ok()?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o077 != 0 {
        return None;
    }
    std::fs::read_to_string(file).ok()
}

/// The password of the first line of a password file (`hostname:port:database:username:password`,
/// `*` matching anything, `\:` and `\\` escaped, `#` starting a comment) that matches.
pub(crate) fn password_in(
    text: &str,
    host: &str,
    port: &str,
    database: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], port)
            && matches(&fields[2], database)
            && matches(&fields[3], user)
        {
            return fields.pop();
        }
    }
    None
}
