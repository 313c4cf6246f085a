//! TLS to the PostgreSQL server of a history, as libpq does it: the URL's `sslmode`
//! (`disable`, `allow`, `prefer`, the default, `require`, `verify-ca`, `verify-full`), the CA
//! certificates to trust (`sslrootcert`, else `~/.postgresql/root.crt`), and a client
//! certificate for `cert` authentication (`sslcert` and `sslkey`, else `~/.postgresql/postgresql.crt`
//! and `.key`); `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT` and `PGSSLKEY` give them when the URL
//! does not. TLS itself is rustls (pure Rust, with ring's primitives).
//!
//! What each mode checks, as in libpq's table ("SSL Mode Descriptions"):
//! - `disable`: no TLS.
//! - `allow` and `prefer`: TLS when the server offers it, else in the clear; the certificate is
//!   not checked (encryption only; coalmine tries TLS first in both).
//! - `require`: TLS or no connection; the certificate is not checked, unless a root
//!   certificate file exists, in which case it is checked as `verify-ca` does (libpq's rule).
//! - `verify-ca`: TLS, and the server's certificate must be signed by a trusted CA.
//! - `verify-full`: also, the certificate must be for the host the URL names.
//!
//! As libpq, a unix socket (`?host=/run/postgresql`) never uses TLS, whatever the mode.
//! `sslrootcert=system` trusts the system's CA bundle (`SSL_CERT_FILE`, else
//! `/etc/ssl/certs/ca-certificates.crt`) and, as in libpq, needs `sslmode=verify-full`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The URL parameters this module reads, which the `postgres` crate does not know (or, for
/// `sslmode`, knows only three values of): they are taken out of the URL it is given.
const PARAMETERS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No TLS.
    Disable,
    /// In the clear or TLS, unchecked (coalmine tries TLS first, as for `prefer`).
    Allow,
    /// TLS when offered, unchecked.
    Prefer,
    /// TLS, unchecked unless a root certificate file exists.
    Require,
    /// TLS, the certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and for the host.
    VerifyFull,
}

impl Mode {
    const NAMES: [&'static str; 6] = [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];

    fn parse(text: &str) -> Option<Mode> {
        Some(match text {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }

    /// The word of the URL.
    pub(crate) fn name(self) -> &'static str {
        Mode::NAMES[self as usize]
    }
}

/// What the URL and the environment say about TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tls {
    /// The mode.
    pub(crate) mode: Mode,
    root_cert: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// How to connect: the `postgres` crate's mode, and the TLS connector when TLS may be used.
pub(crate) struct Connector {
    /// The mode to give the `postgres` crate's configuration.
    pub(crate) ssl_mode: SslMode,
    /// The connector, or none when the connection is in the clear.
    pub(crate) tls: Option<MakeRustlsConnect>,
}

/// Splits `url` into the URL for the `postgres` crate (without this module's parameters) and
/// the TLS settings, `env` giving the variables (`PGSSLMODE`, …) for what the URL does not say.
pub(crate) fn split_with(
    url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, Tls), String> {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut kept = Vec::new();
    let mut found: [Option<String>; 4] = Default::default();
    for param in query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter(|param| !param.is_empty())
    {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        // Matched decoded, as the `postgres` crate and libpq read names (`ssl%6Dode` is
        // `sslmode`: left in the URL, it would be read there and then overridden).
        let name = percent_decode(name)?;
        match PARAMETERS.iter().position(|known| *known == name) {
            Some(at) => found[at] = Some(percent_decode(value)?),
            None => kept.push(param),
        }
    }
    let [mode, root_cert, cert, key] = found;
    let or_env = |value: Option<String>, name: &str| value.or_else(|| env(name));
    let mode = match or_env(mode, "PGSSLMODE") {
        None => Mode::Prefer,
        Some(text) => Mode::parse(&text).ok_or_else(|| {
            format!(
                "sslmode={text} is not a mode; use one of: {}",
                Mode::NAMES.join(", ")
            )
        })?,
    };
    let root_cert = or_env(root_cert, "PGSSLROOTCERT");
    if root_cert.as_deref() == Some("system") && mode != Mode::VerifyFull {
        return Err(format!(
            "sslrootcert=system trusts every CA of the system, so it needs sslmode=verify-full \
             (not {}), as libpq does: a certificate for another host would be accepted otherwise",
            mode.name()
        ));
    }
    let mut rebuilt = head.to_owned();
    if !kept.is_empty() {
        rebuilt.push('?');
        rebuilt.push_str(&kept.join("&"));
    }
    Ok((
        rebuilt,
        Tls {
            mode,
            root_cert,
            cert: or_env(cert, "PGSSLCERT").map(PathBuf::from),
            key: or_env(key, "PGSSLKEY").map(PathBuf::from),
        },
    ))
}

/// `%XX` escapes of a URL parameter's value decoded.
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = value
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| {
                    format!("{value:?} has a % that is not followed by two hex digits")
                })?;
            out.push(hex);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{value:?} is not UTF-8 once decoded"))
}

/// The file under `~/.postgresql/` libpq looks for when a parameter is not given.
fn default_file(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|home| !home.is_empty())?;
    Some(Path::new(&home).join(".postgresql").join(name))
}

impl Tls {
    /// The connector for a server reached only through unix sockets (`unix_only`: no TLS
    /// then, as in libpq) or over TCP. Reads the certificate files; a file that is named but
    /// missing or unreadable, or a key that others may read, is an error saying what to fix.
    pub(crate) fn connector(&self, unix_only: bool) -> Result<Connector, String> {
        if self.mode == Mode::Disable || unix_only {
            return Ok(Connector {
                ssl_mode: SslMode::Disable,
                tls: None,
            });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // As in libpq, `allow` and `prefer` never check, so they read no root certificates.
        let roots = match self.mode {
            Mode::Allow | Mode::Prefer => None,
            _ => self.roots()?,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, roots) {
            (Mode::VerifyCa | Mode::VerifyFull, None) => {
                return Err(format!(
                    "sslmode={} checks the server's certificate, but there is no root \
                     certificate file ({}): give the CA's certificate with sslrootcert=PATH \
                     (or PGSSLROOTCERT), or use sslmode=require to encrypt without checking",
                    self.mode.name(),
                    default_file("root.crt").map_or("~/.postgresql/root.crt".into(), |file| file
                        .display()
                        .to_string())
                ));
            }
            (Mode::Disable | Mode::Allow | Mode::Prefer, _) | (Mode::Require, None) => {
                Arc::new(Unchecked(provider.signature_verification_algorithms))
            }
            (mode, Some(roots)) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|error| format!("cannot use the root certificates: {error}"))?;
                match mode {
                    Mode::VerifyFull => webpki,
                    _ => Arc::new(AnyName(webpki)),
                }
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set up TLS: {error}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match self.client_identity()? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| format!("cannot use the client certificate: {error}"))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Connector {
            ssl_mode: match self.mode {
                Mode::Allow | Mode::Prefer => SslMode::Prefer,
                _ => SslMode::Require,
            },
            tls: Some(MakeRustlsConnect::new(config)),
        })
    }

    /// The CAs to trust: `sslrootcert`'s file (which must exist), the system's bundle, or
    /// `~/.postgresql/root.crt` when it exists; none otherwise.
    fn roots(&self) -> Result<Option<RootCertStore>, String> {
        let file = match self.root_cert.as_deref() {
            Some("system") => PathBuf::from(
                std::env::var_os("SSL_CERT_FILE")
                    .filter(|file| !file.is_empty())
                    .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into()),
            ),
            Some(file) => PathBuf::from(file),
            None => match default_file("root.crt").filter(|file| file.exists()) {
                Some(file) => file,
                None => return Ok(None),
            },
        };
        let certs = certificates(&file, "sslrootcert")?;
        let mut roots = RootCertStore::empty();
        let (_, unusable) = roots.add_parsable_certificates(certs);
        if roots.is_empty() {
            return Err(format!(
                "{} (sslrootcert) holds no certificate coalmine can use ({unusable} unusable): \
                 give the CA's certificate in PEM form",
                file.display()
            ));
        }
        Ok(Some(roots))
    }

    /// The client's certificate chain and key, when `sslcert` is given or
    /// `~/.postgresql/postgresql.crt` exists.
    #[allow(clippy::type_complexity)]
    fn client_identity(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
        let cert = match &self.cert {
            Some(file) => file.clone(),
            None => match default_file("postgresql.crt").filter(|file| file.exists()) {
                Some(file) => file,
                None => return Ok(None),
            },
        };
        let chain = certificates(&cert, "sslcert")?;
        if chain.is_empty() {
            return Err(format!(
                "{} (sslcert) holds no certificate: give the client certificate in PEM form",
                cert.display()
            ));
        }
        let key = match &self.key {
            Some(file) => file.clone(),
            None => default_file("postgresql.key").ok_or_else(|| {
                format!(
                    "a client certificate is given ({}), but no key: give it with sslkey=PATH",
                    cert.display()
                )
            })?,
        };
        check_key_permissions(&key)?;
        let key = PrivateKeyDer::from_pem_file(&key).map_err(|error| {
            format!(
                "cannot read the client key {} (sslkey): {error}; give an unencrypted private \
                 key in PEM form, readable only by you (chmod 0600)",
                key.display()
            )
        })?;
        Ok(Some((chain, key)))
    }
}

/// The PEM certificates of `file`, named by its parameter in messages.
fn certificates(file: &Path, parameter: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |error: String| {
        format!(
            "cannot read {} ({parameter}): {error}; check the path",
            file.display()
        )
    };
    std::fs::metadata(file).map_err(|error| unreadable(error.to_string()))?;
    CertificateDer::pem_file_iter(file)
        .map_err(|error| unreadable(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(error.to_string()))
}

/// libpq's rule for a private key file: readable by its owner only (0600), or, when root owns
/// it, by its group as well (0640).
fn check_key_permissions(key: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(key).map_err(|error| {
        format!(
            "cannot read the client key {} (sslkey): {error}; check the path",
            key.display()
        )
    })?;
    let mode = metadata.mode() & 0o777;
    let allowed = if metadata.uid() == 0 { 0o740 } else { 0o700 };
    if mode & !allowed != 0 {
        return Err(format!(
            "the client key {} (sslkey) may be read by others (mode {mode:o}): make it readable \
             only by you with `chmod 0600 {}`",
            key.display(),
            key.display()
        ));
    }
    Ok(())
}

/// What to do about a failed TLS handshake, from rustls's reason.
pub(crate) fn advice(error: &rustls::Error, mode: Mode) -> &'static str {
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            "the server's certificate is for another name: give the host the certificate names \
             in the URL, or use sslmode=verify-ca to check only who signed it"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired: renew it on the server",
        rustls::Error::InvalidCertificate(_) => match mode {
            Mode::Require => {
                "the server's certificate is not signed by a CA of the root certificates \
                 (sslrootcert, else ~/.postgresql/root.crt), which sslmode=require checks when \
                 there are any: give the CA that signed it with sslrootcert=PATH"
            }
            _ => {
                "the server's certificate is not signed by a CA of the root certificates \
                 (sslrootcert, else ~/.postgresql/root.crt): give the certificate of the CA \
                 that signed it with sslrootcert=PATH"
            }
        },
        rustls::Error::AlertReceived(_) => {
            "the server refused the TLS handshake: check the client certificate (sslcert, \
             sslkey) and the server's TLS settings"
        }
        _ => "check the server's TLS settings and the URL's sslmode",
    }
}

/// A verifier for the modes that encrypt without checking the certificate (`allow`, `prefer`,
/// `require` without root certificates): any certificate is accepted, but the handshake's
/// signatures are still verified, so that the session is with the holder of that certificate.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca`: the certificate chain is checked against the roots, its names are not (rustls
/// checks the chain before the name, so a name error means the chain was good).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_env<'a>(url: &str, env: &'a [(&'a str, &'a str)]) -> Result<(String, Tls), String> {
        split_with(url, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn the_parameters_leave_the_url_and_the_rest_stays_in_order() {
        let (url, tls) = split_env(
            "postgres://u@h:5/db?application_name=x&sslmode=verify-full&sslrootcert=%2Fca%20dir%2Fca.crt&connect_timeout=3",
            &[],
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u@h:5/db?application_name=x&connect_timeout=3"
        );
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root_cert.as_deref(), Some("/ca dir/ca.crt"));
        let (url, tls) = split_env("postgres://u@h/db?sslmode=disable", &[]).unwrap();
        assert_eq!(
            (url.as_str(), tls.mode),
            ("postgres://u@h/db", Mode::Disable)
        );
    }

    #[test]
    fn the_environment_gives_what_the_url_does_not() {
        let env = [("PGSSLMODE", "require"), ("PGSSLCERT", "/c.crt")];
        let (_, tls) = split_env("postgres://h/db", &env).unwrap();
        assert_eq!(tls.mode, Mode::Require);
        assert_eq!(tls.cert.as_deref(), Some(Path::new("/c.crt")));
        let (_, tls) = split_env("postgres://h/db?sslmode=disable", &env).unwrap();
        assert_eq!(tls.mode, Mode::Disable, "the URL wins");
        let (_, tls) = split_env("postgres://h/db", &[]).unwrap();
        assert_eq!(tls.mode, Mode::Prefer, "libpq's default");
    }

    #[test]
    fn bad_values_are_refused_with_the_choices() {
        let error = split_env("postgres://h/db?sslmode=verify_full", &[]).unwrap_err();
        assert!(error.contains("verify-ca, verify-full"), "{error}");
        let error =
            split_env("postgres://h/db?sslmode=require&sslrootcert=system", &[]).unwrap_err();
        assert!(error.contains("needs sslmode=verify-full"), "{error}");
        let error = split_env("postgres://h/db?sslrootcert=%zz", &[]).unwrap_err();
        assert!(error.contains("two hex digits"), "{error}");
    }

    #[test]
    fn a_unix_socket_or_disable_connects_in_the_clear() {
        for (url, unix_only) in [
            ("postgres://h/db?sslmode=verify-full", true),
            ("postgres://h/db?sslmode=disable", false),
        ] {
            let (_, tls) = split_env(url, &[]).unwrap();
            let connector = tls.connector(unix_only).unwrap();
            assert_eq!(connector.ssl_mode, SslMode::Disable, "{url}");
            assert!(connector.tls.is_none(), "{url}");
        }
    }

    #[test]
    fn encoded_parameter_names_are_read_decoded() {
        let (url, tls) = split_env("postgres://h/db?ssl%6Dode=require&x%3Dy=1", &[]).unwrap();
        assert_eq!(tls.mode, Mode::Require);
        assert_eq!(url, "postgres://h/db?x%3Dy=1");
    }

    #[test]
    fn prefer_reads_no_root_certificates() {
        let (_, tls) = split_env("postgres://h/db?sslrootcert=/nonexistent/ca.crt", &[]).unwrap();
        let connector = tls.connector(false).unwrap();
        assert_eq!(connector.ssl_mode, SslMode::Prefer);
        assert!(connector.tls.is_some());
    }

    #[test]
    fn verify_modes_need_root_certificates() {
        let (_, tls) = split_env(
            "postgres://h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt",
            &[],
        )
        .unwrap();
        let error = tls.connector(false).err().unwrap();
        assert!(
            error.contains("/nonexistent/ca.crt (sslrootcert)"),
            "{error}"
        );
    }
}
