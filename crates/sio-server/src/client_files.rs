//! Serving the official browser client, as the reference's `serveClient`
//! does: `GET /socket.io/socket.io.js` (and the minified, msgpack and ESM
//! bundles, with their source maps) answered by the Socket.IO server itself,
//! so a page can load the client from the server it talks to.
//!
//! The files come from an installed npm package (`socket.io-client`, whose
//! `dist/` holds the bundles, or `socket.io`, whose `client-dist/` holds the
//! same), never from a copy in this repository: the bundle served is the
//! version the application installed. They are read once into memory
//! (bounded by [`MAX_CLIENT_FILE_SIZE`] each).
//!
//! The answers follow the reference (`Server#serve` in socket.io's
//! `lib/index.ts`):
//! - `Content-Type: application/javascript; charset=utf-8`
//!   (`application/json; charset=utf-8` for `.map` files),
//! - `Cache-Control: public, max-age=0`,
//! - `ETag: "<version>"`; a matching `If-None-Match` (strong or weak) gets
//!   `304 Not Modified`,
//! - `Content-Encoding` negotiated from `Accept-Encoding` among `br`, `gzip`
//!   and `deflate` exactly as the npm `accepts` package does (quality first,
//!   then the client's order, then br > gzip > deflate).
//!
//! Where we differ, on purpose: each compressed form is computed once (on
//! first request) and kept, instead of compressing on every request; the
//! answers also carry `Vary: Accept-Encoding` (so a cache does not hand a
//! gzip body to a client that did not ask for it); a `304` keeps the
//! `ETag`/`Cache-Control` headers (RFC 9110 asks for them); `If-None-Match`
//! lists and `*` are understood; methods other than GET, HEAD (and OPTIONS
//! with CORS) get `405` instead of the file.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

/// The files the reference serves under its path (`CLIENT_FILES` in
/// socket.io's `lib/index.ts`).
pub const CLIENT_FILE_NAMES: [&str; 8] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
];

/// The largest client file read into memory (16 MiB; the real bundles are
/// well under 1 MiB).
pub const MAX_CLIENT_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Why client files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ClientFilesError {
    /// A file or folder could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `package.json` is not JSON or has no string `version`.
    #[error("{}: {reason}", path.display())]
    BadPackageJson {
        /// The `package.json` read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A client file is larger than [`MAX_CLIENT_FILE_SIZE`].
    #[error("{}: larger than {MAX_CLIENT_FILE_SIZE} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The folder holds none of the [`CLIENT_FILE_NAMES`].
    #[error("{}: no Socket.IO client bundle there (expected socket.io.js, socket.io.min.js, ...)", dir.display())]
    NoFiles {
        /// The folder searched.
        dir: PathBuf,
    },
    /// The version is not usable in an `ETag` (empty, or not visible ASCII).
    #[error("invalid client version {0:?}")]
    BadVersion(String),
}

/// A content coding the server can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
    Deflate,
}

impl Coding {
    /// In the reference's order of preference, used to break ties.
    const OFFERED: [Coding; 3] = [Coding::Br, Coding::Gzip, Coding::Deflate];

    fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// One file: its bytes, and each compressed form once computed.
struct ClientFile {
    name: &'static str,
    plain: Bytes,
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
    deflate: OnceLock<Bytes>,
}

impl ClientFile {
    fn new(name: &'static str, plain: Bytes) -> ClientFile {
        ClientFile {
            name,
            plain,
            br: OnceLock::new(),
            gzip: OnceLock::new(),
            deflate: OnceLock::new(),
        }
    }

    /// The body for `coding` (compressed on first use, then shared).
    fn body(&self, coding: Option<Coding>) -> Bytes {
        let (cell, coding) = match coding {
            None => return self.plain.clone(),
            Some(Coding::Br) => (&self.br, Coding::Br),
            Some(Coding::Gzip) => (&self.gzip, Coding::Gzip),
            Some(Coding::Deflate) => (&self.deflate, Coding::Deflate),
        };
        cell.get_or_init(|| compress(&self.plain, coding)).clone()
    }

    fn content_type(&self) -> &'static str {
        if self.name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        }
    }
}

/// Compresses with the reference's settings (zlib's defaults: level 6 for
/// gzip and deflate, quality 11 and a 4 MiB window for brotli).
fn compress(data: &[u8], coding: Coding) -> Bytes {
    let out = Vec::with_capacity(data.len() / 3);
    // Writing into a Vec cannot fail.
    let out = match coding {
        Coding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            enc.write_all(data).expect("in memory");
            enc.finish().expect("in memory")
        }
        // HTTP's "deflate" is the zlib format (RFC 1950), as Node's createDeflate.
        Coding::Deflate => {
            let mut enc = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
            enc.write_all(data).expect("in memory");
            enc.finish().expect("in memory")
        }
        Coding::Br => {
            let mut enc = brotli::CompressorWriter::new(out, 64 * 1024, 11, 22);
            enc.write_all(data).expect("in memory");
            enc.flush().expect("in memory");
            enc.into_inner()
        }
    };
    Bytes::from(out)
}

struct Inner {
    version: String,
    etag: HeaderValue,
    files: Vec<ClientFile>,
}

/// The official browser client's files, ready to serve.
///
/// Put it in [`SocketIoConfig::serve_client`](crate::SocketIoConfig::serve_client)
/// and the server answers `GET <path>socket.io.js` (and the other
/// [`CLIENT_FILE_NAMES`]) like the reference's `serveClient`. Cheap to
/// clone.
///
/// ```no_run
/// use sio_server::{ClientFiles, SocketIo, SocketIoConfig};
///
/// # fn run() -> Result<(), sio_server::ClientFilesError> {
/// // After `npm install socket.io-client` in ./client:
/// let files = ClientFiles::from_package("client/node_modules/socket.io-client")?;
/// println!("serving the browser client {}", files.version());
/// let io = SocketIo::new(SocketIoConfig { serve_client: Some(files), ..Default::default() });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientFiles {
    inner: Arc<Inner>,
}

impl fmt::Debug for ClientFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFiles")
            .field("version", &self.inner.version)
            .field("files", &self.file_names().collect::<Vec<_>>())
            .finish()
    }
}

impl ClientFiles {
    /// Loads an installed npm package: `socket.io-client` (bundles in
    /// `dist/`) or `socket.io` (bundles in `client-dist/`), with the
    /// version of its `package.json` as the `ETag`.
    ///
    /// ```no_run
    /// let files = sio_server::ClientFiles::from_package("node_modules/socket.io-client").unwrap();
    /// assert!(files.version().starts_with("4."));
    /// ```
    pub fn from_package(dir: impl AsRef<Path>) -> Result<ClientFiles, ClientFilesError> {
        let dir = dir.as_ref();
        let package_json = dir.join("package.json");
        let text =
            std::fs::read_to_string(&package_json).map_err(|source| ClientFilesError::Io {
                path: package_json.clone(),
                source,
            })?;
        let bad = |reason: String| ClientFilesError::BadPackageJson {
            path: package_json.clone(),
            reason,
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let version = json
            .get("version")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no \"version\" string".into()))?;
        let dist = if dir.join("dist").join("socket.io.js").is_file() {
            dir.join("dist")
        } else if dir.join("client-dist").is_dir() {
            dir.join("client-dist")
        } else {
            dir.join("dist")
        };
        ClientFiles::from_dir(dist, version)
    }

    /// Loads the [`CLIENT_FILE_NAMES`] present in `dist`, served with
    /// `ETag: "<version>"`. At least one must be there.
    ///
    /// ```no_run
    /// let files = sio_server::ClientFiles::from_dir("static/socket.io", "4.8.1").unwrap();
    /// assert_eq!(files.version(), "4.8.1");
    /// ```
    pub fn from_dir(
        dist: impl AsRef<Path>,
        version: &str,
    ) -> Result<ClientFiles, ClientFilesError> {
        let dist = dist.as_ref();
        let etag = HeaderValue::from_str(&format!("\"{version}\""))
            .ok()
            .filter(|_| {
                !version.is_empty() && version.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
            })
            .ok_or_else(|| ClientFilesError::BadVersion(version.to_owned()))?;
        let mut files = Vec::new();
        for name in CLIENT_FILE_NAMES {
            let path = dist.join(name);
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ClientFilesError::Io { path, source }),
            };
            // Read one byte past the limit to tell "exactly the limit" from "more".
            let mut data = Vec::new();
            file.take(MAX_CLIENT_FILE_SIZE + 1)
                .read_to_end(&mut data)
                .map_err(|source| ClientFilesError::Io {
                    path: path.clone(),
                    source,
                })?;
            if data.len() as u64 > MAX_CLIENT_FILE_SIZE {
                return Err(ClientFilesError::TooLarge { path });
            }
            files.push(ClientFile::new(name, Bytes::from(data)));
        }
        if files.is_empty() {
            return Err(ClientFilesError::NoFiles {
                dir: dist.to_owned(),
            });
        }
        Ok(ClientFiles {
            inner: Arc::new(Inner {
                version: version.to_owned(),
                etag,
                files,
            }),
        })
    }

    /// The client's version (the `ETag`, unquoted).
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The names of the files loaded, in [`CLIENT_FILE_NAMES`] order.
    pub fn file_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.files.iter().map(|f| f.name)
    }

    /// The uncompressed bytes of file `name`, if loaded.
    ///
    /// ```no_run
    /// # let files = sio_server::ClientFiles::from_package("node_modules/socket.io-client").unwrap();
    /// let js = files.get("socket.io.min.js").unwrap();
    /// assert!(!js.is_empty());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.file(name).map(|f| &f.plain)
    }

    fn file(&self, name: &str) -> Option<&ClientFile> {
        self.inner.files.iter().find(|f| f.name == name)
    }

    /// The answer to `req` for the file `name` (the part of the path after
    /// the server's path, like `socket.io.min.js`), or `None` when `name` is
    /// not a loaded client file (the request is someone else's).
    ///
    /// The first request for a compressed form compresses the file (a few
    /// milliseconds for a bundle; brotli on a source map takes longer);
    /// later ones share the result.
    ///
    /// ```no_run
    /// # let files = sio_server::ClientFiles::from_package("node_modules/socket.io-client").unwrap();
    /// let req = http::Request::get("/socket.io/socket.io.js")
    ///     .header("accept-encoding", "gzip")
    ///     .body(())
    ///     .unwrap();
    /// let res = files.respond("socket.io.js", &req).unwrap();
    /// assert_eq!(res.status(), 200);
    /// assert_eq!(res.headers()["content-encoding"], "gzip");
    /// ```
    pub fn respond<B>(&self, name: &str, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
        let file = self.file(name)?;
        let head = req.method() == Method::HEAD;
        if !head && req.method() != Method::GET {
            return Some(
                Response::builder()
                    .status(StatusCode::METHOD_NOT_ALLOWED)
                    .header(header::ALLOW, "GET, HEAD")
                    .body(Full::new(Bytes::new()))
                    .expect("valid response"),
            );
        }
        let builder = Response::builder()
            .header(header::CACHE_CONTROL, "public, max-age=0")
            .header(header::ETAG, self.inner.etag.clone())
            .header(header::VARY, "Accept-Encoding");
        if self.not_modified(req) {
            return Some(
                builder
                    .status(StatusCode::NOT_MODIFIED)
                    .body(Full::new(Bytes::new()))
                    .expect("valid response"),
            );
        }
        let accept = req
            .headers()
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let coding = negotiate(&accept);
        let body = file.body(coding);
        let mut builder = builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, file.content_type())
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(coding) = coding {
            builder = builder.header(header::CONTENT_ENCODING, coding.token());
        }
        let body = if head { Bytes::new() } else { body };
        Some(builder.body(Full::new(body)).expect("valid response"))
    }

    /// Whether `If-None-Match` names our ETag (strong or weak) or is `*`.
    fn not_modified<B>(&self, req: &Request<B>) -> bool {
        let ours = self.inner.etag.as_bytes();
        req.headers()
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .map(|tag| tag.trim_ascii())
            .any(|tag| tag == b"*" || tag == ours || tag.strip_prefix(b"W/") == Some(ours))
    }
}

/// The coding the npm `accepts`/`negotiator` packages pick for
/// `encodings(["br", "gzip", "deflate"])`: among the offered codings the
/// header allows (q > 0, by name or `*`), the highest q, then an exact name
/// over `*`, then the earliest in the header, then br > gzip > deflate.
/// `None`: send the file as it is.
fn negotiate(accept: &str) -> Option<Coding> {
    struct Spec<'a> {
        name: &'a str,
        q: f64,
        pos: usize,
    }
    let specs: Vec<Spec<'_>> = accept
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter_map(|(pos, item)| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return None;
            }
            // The first `q=` parameter counts; an unparsable one is no q (0).
            let q = parts
                .map(str::trim)
                .find_map(|p| p.strip_prefix("q="))
                .map_or(1.0, |v| parse_q(v.trim()));
            Some(Spec { name, q, pos })
        })
        .collect();
    // (q, specificity, position in header, index offered) of each offered coding.
    let mut best: Option<(f64, u8, usize, usize, Coding)> = None;
    for (index, coding) in Coding::OFFERED.into_iter().enumerate() {
        let mut priority: Option<(f64, u8, usize)> = None;
        for spec in &specs {
            let s = if spec.name.eq_ignore_ascii_case(coding.token()) {
                1
            } else if spec.name == "*" {
                0
            } else {
                continue;
            };
            // negotiator keeps the most specific match, then the highest q,
            // then the latest in the header.
            let better = match priority {
                None => true,
                Some((q, ps, pos)) => (ps, q, pos) < (s, spec.q, spec.pos),
            };
            if better {
                priority = Some((spec.q, s, spec.pos));
            }
        }
        let Some((q, s, pos)) = priority.filter(|p| p.0 > 0.0) else {
            continue;
        };
        let wins = match best {
            None => true,
            Some((bq, bs, bpos, bindex, _)) => {
                q > bq || (q == bq && (s > bs || (s == bs && (pos, index) < (bpos, bindex))))
            }
        };
        if wins {
            best = Some((q, s, pos, index, coding));
        }
    }
    best.map(|b| b.4)
}

/// `parseFloat` of a q value, as negotiator reads it: the leading number,
/// 0 when there is none.
fn parse_q(v: &str) -> f64 {
    let end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(v.len(), |(i, _)| i);
    v[..end]
        .parse::<f64>()
        .ok()
        .filter(|q| q.is_finite())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::{negotiate, Coding};

    #[test]
    fn negotiation_matches_the_npm_accepts_package() {
        // Expected values: node -e 'require("accepts")({headers:{"accept-encoding":H}}).encodings(["br","gzip","deflate"])'
        let cases: &[(&str, Option<Coding>)] = &[
            ("", None),
            ("identity", None),
            ("gzip", Some(Coding::Gzip)),
            ("gzip, deflate, br, zstd", Some(Coding::Gzip)),
            ("deflate, gzip, br, zstd", Some(Coding::Deflate)),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", Some(Coding::Br)),
            ("gzip;q=0.5, deflate", Some(Coding::Deflate)),
            ("*", Some(Coding::Br)),
            ("*, br;q=0", Some(Coding::Gzip)),
            ("gzip;q=0", None),
            ("GZIP", Some(Coding::Gzip)),
            ("gzip;q=abc, deflate;q=0.1", Some(Coding::Deflate)),
            ("zstd", None),
            ("gzip;q=0.5, *", Some(Coding::Br)),
            ("*;q=0.5, gzip", Some(Coding::Gzip)),
        ];
        for (header, want) in cases {
            assert_eq!(negotiate(header), *want, "Accept-Encoding: {header:?}");
        }
    }
}
