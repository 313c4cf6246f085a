//! A tiny HTTP/1.1 server and client over std `TcpListener`/`TcpStream`, just enough for the
//! services this CI deploys and for the tests it runs against them: one request per
//! connection (`Connection: close`), bodies framed by `Content-Length`, and a timeout on every
//! socket operation so that a stuck peer can never hang a run.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Connect/read/write timeout of every socket operation, client and server side.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request/response head accepted; anything bigger is not one of ours.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted; recipes serve small static files and documents.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why an HTTP exchange failed below the level of a status code.
#[derive(Debug)]
pub enum HttpError {
    /// The socket failed (refused, reset, timed out...).
    Io(io::Error),
    /// The peer sent something that is not the HTTP this module speaks.
    Malformed(String),
    /// The head or body exceeded the size limits.
    TooLarge(&'static str),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Io(error) => write!(f, "{error}"),
            HttpError::Malformed(what) => write!(f, "malformed HTTP message: {what}"),
            HttpError::TooLarge(what) => write!(f, "HTTP {what} too large"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for HttpError {
    fn from(error: io::Error) -> Self {
        HttpError::Io(error)
    }
}

/// Case-insensitive header lookup shared by requests and responses.
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// An HTTP request, as received by the server or about to be sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `PUT`...
    pub method: String,
    /// The request target, always starting with `/`.
    pub path: String,
    /// Header fields in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (empty if there is none).
    pub body: Vec<u8>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of the first header field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields, without the framing ones (`Content-Length`, `Connection`) that the
    /// writer adds itself.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("Content-Type", "text/plain")
            .with_body(body.into())
    }

    /// An `application/json` response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Response::new(status)
            .with_header("Content-Type", "application/json")
            .with_body(body.to_string())
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of the first header field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The media type of the body without parameters (`text/html; charset=utf-8` -> `text/html`),
    /// or `""` when the response has no `Content-Type`.
    pub fn media_type(&self) -> &str {
        self.header("Content-Type")
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .unwrap_or("")
    }

    /// The body as text, with invalid UTF-8 replaced (for messages and JSON parsing).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// A message as read off the wire: start line, header fields, body.
struct RawMessage {
    start_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Reads one HTTP message. A body without `Content-Length` is read to end of stream when
/// `body_until_eof` (responses on a closing connection) and is empty otherwise (requests).
fn read_message(reader: &mut impl Read, body_until_eof: bool) -> Result<RawMessage, HttpError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|window| window == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::TooLarge("head"));
        }
        let read = reader.read(&mut chunk)?;
        if read == 0 {
            return Err(HttpError::Malformed(if buf.is_empty() {
                "connection closed before any data".to_owned()
            } else {
                "connection closed inside the head".to_owned()
            }));
        }
        buf.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| HttpError::Malformed("head is not UTF-8".to_owned()))?;
    let mut lines = head.split("\r\n");
    let start_line = lines.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| HttpError::Malformed(format!("header line without ':': {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    if find_header(&headers, "Transfer-Encoding").is_some() {
        return Err(HttpError::Malformed(
            "Transfer-Encoding is not supported".to_owned(),
        ));
    }
    let mut body = buf[head_end + 4..].to_vec();
    match find_header(&headers, "Content-Length") {
        Some(value) => {
            let length: usize = value
                .parse()
                .map_err(|_| HttpError::Malformed(format!("bad Content-Length {value:?}")))?;
            if length > MAX_BODY {
                return Err(HttpError::TooLarge("body"));
            }
            while body.len() < length {
                let read = reader.read(&mut chunk)?;
                if read == 0 {
                    return Err(HttpError::Malformed(
                        "body shorter than Content-Length".to_owned(),
                    ));
                }
                body.extend_from_slice(&chunk[..read]);
            }
            body.truncate(length);
        }
        None if body_until_eof => {
            reader
                .take((MAX_BODY + 1 - body.len().min(MAX_BODY)) as u64)
                .read_to_end(&mut body)?;
            if body.len() > MAX_BODY {
                return Err(HttpError::TooLarge("body"));
            }
        }
        None => body.clear(),
    }
    Ok(RawMessage {
        start_line,
        headers,
        body,
    })
}

/// Reads a request from a client connection.
pub fn read_request(reader: &mut impl Read) -> Result<Request, HttpError> {
    let raw = read_message(reader, false)?;
    let mut parts = raw.start_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed(format!(
            "bad request line {:?}",
            raw.start_line
        )));
    };
    if !version.starts_with("HTTP/1.") || !path.starts_with('/') || method.is_empty() {
        return Err(HttpError::Malformed(format!(
            "bad request line {:?}",
            raw.start_line
        )));
    }
    Ok(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        headers: raw.headers,
        body: raw.body,
    })
}

/// Reads a response from a server connection.
pub fn read_response(reader: &mut impl Read) -> Result<Response, HttpError> {
    let raw = read_message(reader, true)?;
    let mut parts = raw.start_line.splitn(3, ' ');
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| HttpError::Malformed(format!("bad status line {:?}", raw.start_line)))?;
    let headers = raw
        .headers
        .into_iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("Content-Length") && !name.eq_ignore_ascii_case("Connection")
        })
        .collect();
    Ok(Response {
        status,
        headers,
        body: raw.body,
    })
}

/// Writes a request with the framing headers (`Host`, `Content-Length`, `Connection: close`).
pub fn write_request(writer: &mut impl Write, host: &str, request: &Request) -> io::Result<()> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.path,
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(&request.body)?;
    writer.flush()
}

/// Writes a response with the framing headers (`Content-Length`, `Connection: close`).
pub fn write_response(writer: &mut impl Write, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(&response.body)?;
    writer.flush()
}

/// Serves `handler` on `listener` forever, one thread per connection. Only returns if
/// accepting fails persistently; a single failed accept (e.g. a client that reset early) is
/// skipped.
pub fn serve<H>(listener: TcpListener, handler: H) -> io::Error
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let mut consecutive_failures = 0;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                consecutive_failures = 0;
                let handler = Arc::clone(&handler);
                // A connection that cannot get a thread is dropped; the client sees a reset.
                let _ = thread::Builder::new()
                    .name("http-conn".to_owned())
                    .spawn(move || handle_connection(stream, handler.as_ref()));
            }
            Err(error) => {
                consecutive_failures += 1;
                if consecutive_failures > 100 {
                    return error;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn handle_connection<H: Fn(&Request) -> Response>(mut stream: TcpStream, handler: &H) {
    if stream.set_read_timeout(Some(IO_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(IO_TIMEOUT)).is_err()
    {
        return;
    }
    let response = match read_request(&mut stream) {
        Ok(request) => handler(&request),
        Err(HttpError::Io(_)) => return,
        Err(error) => Response::text(400, format!("{error}\n")),
    };
    // The client may already be gone; there is nobody left to tell.
    let _ = write_response(&mut stream, &response);
}

/// Sends `request` to `addr` and reads the response, with [`IO_TIMEOUT`] on every step.
pub fn send(addr: SocketAddr, request: &Request) -> Result<Response, HttpError> {
    send_with_timeout(addr, request, IO_TIMEOUT)
}

/// Like [`send`] with a custom per-operation timeout (used for quick health probes).
pub fn send_with_timeout(
    addr: SocketAddr,
    request: &Request,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write_request(&mut stream, &addr.to_string(), request)?;
    read_response(&mut stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_roundtrips_through_the_wire_format() {
        let request = Request::new("PUT", "/data/a.txt")
            .with_header("Authorization", "Bearer x")
            .with_body("hello");
        let mut wire = Vec::new();
        write_request(&mut wire, "127.0.0.1:1", &request).unwrap();
        let parsed = read_request(&mut wire.as_slice()).unwrap();
        assert_eq!(parsed.method, "PUT");
        assert_eq!(parsed.path, "/data/a.txt");
        assert_eq!(parsed.header("authorization"), Some("Bearer x"));
        assert_eq!(parsed.body, b"hello");
    }

    #[test]
    fn response_roundtrips_and_drops_framing_headers() {
        let response = Response::text(404, "nope\n");
        let mut wire = Vec::new();
        write_response(&mut wire, &response).unwrap();
        let parsed = read_response(&mut wire.as_slice()).unwrap();
        assert_eq!(parsed, response);
        assert_eq!(parsed.media_type(), "text/plain");
    }

    #[test]
    fn response_body_without_length_reads_to_eof() {
        let wire = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>";
        let parsed = read_response(&mut wire.as_slice()).unwrap();
        assert_eq!(parsed.body, b"<p>hi</p>");
        assert_eq!(parsed.media_type(), "text/html");
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for wire in [
            &b""[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1\r\nno-colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET relative HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(read_request(&mut &wire[..]).is_err(), "{wire:?}");
        }
        assert!(read_response(&mut &b"HTTP/1.1 abc OK\r\n\r\n"[..]).is_err());
    }

    #[test]
    fn oversized_heads_are_rejected() {
        let wire = vec![b'a'; MAX_HEAD + 5000];
        assert!(matches!(
            read_request(&mut wire.as_slice()),
            Err(HttpError::TooLarge("head"))
        ));
    }

    #[test]
    fn server_and_client_talk_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            serve(listener, |request: &Request| {
                Response::text(200, format!("{} {}", request.method, request.path))
            })
        });
        let response = send(addr, &Request::new("GET", "/ping")).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body_text(), "GET /ping");
    }
}
