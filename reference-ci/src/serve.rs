//! The service process (`reference-ci serve ...`). One generic HTTP server whose behaviour is
//! entirely given by the recipe's data: a read-only docroot with a mime table, a writable data
//! folder, and dependencies it proxies to and whose health it reports. It binds a free loopback
//! port, announces it on stdout (the CI's handshake), and then logs one line per request on
//! stderr, which the CI points at `<artifacts>/services/<service>.log`.
//!
//! Routes:
//! - `GET /health`: 200 if every upstream's `/health` is 200, else 502.
//! - `GET /version`: `{"service", "version", "rev", "label", "ci_pid"}` (the last two let
//!   the CI recognise its own services after teardown).
//! - `ANY /api/<upstream>/<rest>`: proxied to `<upstream>` as `/<rest>`.
//! - `GET /data/`: names of stored files, one per line; `GET|PUT /data/<name>`: a stored file
//!   (PUT needs `Authorization: Bearer <token>` when the service has a write token).
//! - `GET /<path>`: a docroot file (`/` is `index.html`), typed by the mime table.
//!
//! During a cold start (`--warmup-ms`) every route answers 503.

use std::fs;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::http::{self, Request, Response};
use crate::mime::MimeTable;
use crate::recipe::is_valid_name;

/// Env var carrying the write token, so it never appears on a command line.
pub const WRITE_TOKEN_VAR: &str = "REFERENCE_CI_WRITE_TOKEN";
/// Prefix of the handshake line on stdout: `listening 127.0.0.1:PORT`.
pub const HANDSHAKE_PREFIX: &str = "listening ";
/// Health probes of upstreams must answer quickly, well within the client's own timeout.
const UPSTREAM_HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the service until it is killed. Returns only on startup failure or if the listener
/// breaks for good.
pub fn main(args: ServeArgs) -> Result<(), Error> {
    die_with_parent(args.parent_pid);
    let mime = match &args.mime_types {
        Some(path) => {
            let text = fs::read_to_string(path)
                .map_err(|error| Error::io(format!("reading {}", path.display()), error))?;
            MimeTable::parse(&text).map_err(|line| {
                Error::io(
                    format!("parsing {}", path.display()),
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad line {line}")),
                )
            })?
        }
        None => MimeTable::default(),
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| Error::io("binding 127.0.0.1:0", error))?;
    let addr = listener
        .local_addr()
        .map_err(|error| Error::io("reading the bound address", error))?;
    let service = Service {
        token: std::env::var(WRITE_TOKEN_VAR)
            .ok()
            .filter(|t| !t.is_empty()),
        warmup: Duration::from_millis(args.warmup_ms),
        started: Instant::now(),
        mime,
        args,
    };
    service.log(&format!(
        "listening on {addr} (rev {}, version {}{})",
        service.args.rev,
        service.args.version,
        if service.warmup.is_zero() {
            String::new()
        } else {
            format!(", cold start {} ms", service.warmup.as_millis())
        }
    ));
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{HANDSHAKE_PREFIX}{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Error::io("announcing the port", error))?;
    drop(stdout);
    let error = http::serve(listener, move |request: &Request| service.handle(request));
    Err(Error::io("accepting connections", error))
}

/// Makes the kernel kill this process if the CI dies without tearing down (e.g. SIGKILL), so
/// a service can never outlive its CI. Linux only; elsewhere the CI's teardown and the process
/// group signal are the only guarantees.
fn die_with_parent(parent_pid: Option<u32>) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscalls without pointers.
        let parent_now = unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::getppid()
        };
        // The parent may have died between fork and prctl; then nobody will signal us.
        if parent_pid.is_some_and(|pid| i64::from(pid) != i64::from(parent_now)) {
            std::process::exit(0);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent_pid;
}

struct Service {
    args: ServeArgs,
    mime: MimeTable,
    token: Option<String>,
    warmup: Duration,
    started: Instant,
}

impl Service {
    fn handle(&self, request: &Request) -> Response {
        let response = self.route(request);
        self.log(&format!(
            "{} {} -> {} ({} bytes)",
            request.method,
            request.path,
            response.status,
            response.body.len()
        ));
        response
    }

    /// One line per call, written with a single `write` so lines of services sharing a log
    /// file (old and new revision during an upgrade) never interleave. Never logs headers or
    /// bodies, which may carry secrets.
    fn log(&self, message: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let line = format!(
            "{}.{:03} {} {}: {message}\n",
            now.as_secs(),
            now.subsec_millis(),
            self.args.name,
            self.args.label
        );
        // Nowhere to report a failing log write; the request is still answered.
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }

    fn route(&self, request: &Request) -> Response {
        if self.started.elapsed() < self.warmup {
            return Response::text(503, "warming up\n");
        }
        let path = request.path.split('?').next().unwrap_or_default();
        let method = request.method.as_str();
        if let Some(rest) = path.strip_prefix("/api/") {
            return self.proxy(request, rest);
        }
        match (method, path) {
            ("GET", "/health") => self.health(),
            ("GET", "/version") => Response::json(
                200,
                &json!({
                    "service": self.args.name,
                    "version": self.args.version,
                    "rev": self.args.rev,
                    "label": self.args.label,
                    "ci_pid": self.args.parent_pid,
                }),
            ),
            (_, "/data") => Response::text(404, "not found\n"),
            (_, data) if data.starts_with("/data/") => self.data(request, &data["/data/".len()..]),
            ("GET", _) => self.static_file(path),
            _ => Response::text(405, "method not allowed\n"),
        }
    }

    fn health(&self) -> Response {
        let mut upstreams = serde_json::Map::new();
        let mut healthy = true;
        for (name, addr) in &self.args.upstreams {
            let state = match http::send_with_timeout(
                *addr,
                &Request::new("GET", "/health"),
                UPSTREAM_HEALTH_TIMEOUT,
            ) {
                Ok(response) if response.status == 200 => "ok".to_owned(),
                Ok(response) => format!("status {}", response.status),
                Err(error) => error.to_string(),
            };
            healthy &= state == "ok";
            upstreams.insert(name.clone(), state.into());
        }
        Response::json(
            if healthy { 200 } else { 502 },
            &json!({
                "service": self.args.name,
                "rev": self.args.rev,
                "status": if healthy { "ok" } else { "degraded" },
                "upstreams": upstreams,
            }),
        )
    }

    fn proxy(&self, request: &Request, rest: &str) -> Response {
        let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let Some((_, addr)) = self.args.upstreams.iter().find(|(known, _)| known == name) else {
            return Response::text(404, format!("no upstream {name:?}\n"));
        };
        let mut forwarded =
            Request::new(&request.method, &format!("/{tail}")).with_body(request.body.clone());
        // Only what the upstream needs; notably the credentials pass through untouched.
        for header in ["Authorization", "Content-Type"] {
            if let Some(value) = request.header(header) {
                forwarded = forwarded.with_header(header, value);
            }
        }
        match http::send(*addr, &forwarded) {
            Ok(response) => {
                let mut proxied = Response::new(response.status).with_body(response.body.clone());
                if let Some(kind) = response.header("Content-Type") {
                    proxied = proxied.with_header("Content-Type", kind);
                }
                proxied
            }
            Err(error) => Response::text(502, format!("upstream {name} unreachable: {error}\n")),
        }
    }

    fn data(&self, request: &Request, name: &str) -> Response {
        let Some(dir) = &self.args.data else {
            return Response::text(404, "this service stores no data\n");
        };
        match (request.method.as_str(), name) {
            ("GET", "") => list_names(dir),
            (_, name) if !is_valid_name(name) => Response::text(400, "invalid data name\n"),
            ("GET", name) => match fs::read(dir.join(name)) {
                Ok(body) => Response::new(200)
                    .with_header("Content-Type", self.mime.type_for(name))
                    .with_body(body),
                Err(_) => Response::text(404, "not found\n"),
            },
            ("PUT", name) => {
                if let Some(refusal) = self.authorize(request) {
                    return refusal;
                }
                match store(dir, name, &request.body) {
                    Ok(()) => Response::text(201, "stored\n"),
                    Err(error) => {
                        self.log(&format!("storing {name}: {error}"));
                        Response::text(500, "could not store\n")
                    }
                }
            }
            _ => Response::text(405, "method not allowed\n"),
        }
    }

    /// `None` if the request may write, else the refusal to send.
    fn authorize(&self, request: &Request) -> Option<Response> {
        let token = self.token.as_ref()?;
        match request
            .header("Authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            None => Some(Response::text(401, "missing bearer token\n")),
            Some(given) if given == token => None,
            Some(_) => Some(Response::text(403, "wrong bearer token\n")),
        }
    }

    fn static_file(&self, path: &str) -> Response {
        let Some(docroot) = &self.args.docroot else {
            return Response::text(404, "not found\n");
        };
        let Some(file) = docroot_file(docroot, path) else {
            return Response::text(404, "not found\n");
        };
        match fs::read(&file) {
            Ok(body) => {
                let name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                Response::new(200)
                    .with_header("Content-Type", self.mime.type_for(name))
                    .with_body(body)
            }
            Err(_) => Response::text(404, "not found\n"),
        }
    }
}

/// Maps a URL path to a file under `docroot`; `None` for paths with empty, `.` or `..`
/// segments (which could otherwise climb out of the docroot) or that are not plain files.
fn docroot_file(docroot: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix('/')?;
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    let mut file = docroot.to_owned();
    for segment in relative.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
            return None;
        }
        file.push(segment);
    }
    file.is_file().then_some(file)
}

fn list_names(dir: &Path) -> Response {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| is_valid_name(name))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let body: String = names.iter().map(|name| format!("{name}\n")).collect();
    Response::text(200, body)
}

/// Writes via a hidden temporary file and a rename, so readers and backups never see half a
/// file.
fn store(dir: &Path, name: &str, body: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    fs::write(&partial, body)?;
    fs::rename(&partial, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("reference-ci-serve-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn service(docroot: Option<PathBuf>, data: Option<PathBuf>, token: Option<&str>) -> Service {
        Service {
            args: ServeArgs {
                name: "web".into(),
                label: "test@r1".into(),
                rev: "r1".into(),
                version: "1.0".into(),
                docroot,
                data,
                ..ServeArgs::default()
            },
            mime: MimeTable::parse("text/html html\ntext/plain txt\n").unwrap(),
            token: token.map(str::to_owned),
            warmup: Duration::ZERO,
            started: Instant::now(),
        }
    }

    #[test]
    fn serves_docroot_files_typed_by_the_table() {
        let root = scratch("docroot");
        fs::write(root.join("index.html"), "<h1>hi</h1>").unwrap();
        fs::write(root.join("notes.md"), "# md").unwrap();
        let web = service(Some(root.clone()), None, None);
        let index = web.route(&Request::new("GET", "/"));
        assert_eq!((index.status, index.media_type()), (200, "text/html"));
        assert_eq!(index.body, b"<h1>hi</h1>");
        let md = web.route(&Request::new("GET", "/notes.md?x=1"));
        assert_eq!(md.media_type(), crate::mime::DEFAULT_TYPE);
        for missing in ["/nope.html", "/../etc/passwd", "/a//b", "/./index.html"] {
            assert_eq!(
                web.route(&Request::new("GET", missing)).status,
                404,
                "{missing}"
            );
        }
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn data_needs_the_token_to_write() {
        let data = scratch("data").join("files");
        let web = service(None, Some(data.clone()), Some("tok"));
        let put = |auth: Option<&str>| {
            let mut request = Request::new("PUT", "/data/a.txt").with_body("A");
            if let Some(auth) = auth {
                request = request.with_header("Authorization", auth);
            }
            web.route(&request).status
        };
        assert_eq!(put(None), 401);
        assert_eq!(put(Some("Bearer nope")), 403);
        assert_eq!(put(Some("Bearer tok")), 201);
        let get = web.route(&Request::new("GET", "/data/a.txt"));
        assert_eq!(
            (get.status, get.body_text().as_str(), get.media_type()),
            (200, "A", "text/plain")
        );
        assert_eq!(
            web.route(&Request::new("GET", "/data/")).body_text(),
            "a.txt\n"
        );
        assert_eq!(web.route(&Request::new("GET", "/data/..")).status, 400);
        assert_eq!(
            web.route(&Request::new("DELETE", "/data/a.txt")).status,
            405
        );
        fs::remove_dir_all(data.parent().unwrap()).unwrap();
    }

    #[test]
    fn reports_version_and_warms_up() {
        let mut web = service(None, None, None);
        let version = web.route(&Request::new("GET", "/version"));
        let body: serde_json::Value = serde_json::from_slice(&version.body).unwrap();
        assert_eq!(body["rev"], "r1");
        assert_eq!(web.route(&Request::new("GET", "/health")).status, 200);
        web.warmup = Duration::from_secs(60);
        assert_eq!(web.route(&Request::new("GET", "/version")).status, 503);
    }

    #[test]
    fn proxy_reports_unknown_and_unreachable_upstreams() {
        let mut web = service(None, None, None);
        assert_eq!(
            web.route(&Request::new("GET", "/api/backend/health"))
                .status,
            404
        );
        // A port that was just free: nothing listens there.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        web.args.upstreams.push(("backend".into(), addr));
        assert_eq!(
            web.route(&Request::new("GET", "/api/backend/health"))
                .status,
            502
        );
        assert_eq!(web.route(&Request::new("GET", "/health")).status, 502);
    }
}
