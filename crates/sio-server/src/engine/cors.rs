//! CORS headers, as the npm `cors` middleware that the reference uses.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::EngineBody;

/// Which origins may make cross-origin requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowOrigin {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin` (with `Vary: Origin`).
    Mirror,
    /// Echo the request's `Origin` if it is one of these.
    List(Vec<String>),
}

/// CORS settings (the reference's `cors` option).
///
/// ```
/// use sio_server::engine::{AllowOrigin, Cors};
/// let cors = Cors { origin: AllowOrigin::List(vec!["https://example.com".into()]), credentials: true, ..Cors::default() };
/// assert!(cors.credentials);
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    /// Allowed origins (default any).
    pub origin: AllowOrigin,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// Methods allowed in preflights (default `GET,HEAD,PUT,PATCH,POST,DELETE`).
    pub methods: String,
    /// Headers allowed in preflights (default: echo `Access-Control-Request-Headers`).
    pub allowed_headers: Option<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Option<String>,
    /// `Access-Control-Max-Age`, in seconds.
    pub max_age: Option<u64>,
}

impl Default for Cors {
    fn default() -> Self {
        Cors {
            origin: AllowOrigin::Any,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".into(),
            allowed_headers: None,
            exposed_headers: None,
            max_age: None,
        }
    }
}

impl Cors {
    /// Adds the origin, credentials and expose headers to a response.
    pub(crate) fn apply(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        match &self.origin {
            AllowOrigin::Any => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            AllowOrigin::Mirror => {
                if let Some(o) = origin {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone());
                }
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
            }
            AllowOrigin::List(list) => {
                if let Some(o) =
                    origin.filter(|o| list.iter().any(|l| l.as_bytes() == o.as_bytes()))
                {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone());
                }
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(e) = self
            .exposed_headers
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, e);
        }
    }

    /// The answer to an `OPTIONS` preflight: 204 with the allow headers (the
    /// origin headers are added by [`apply`](Cors::apply) afterwards).
    pub(crate) fn preflight(&self, req: &HeaderMap) -> Response<EngineBody> {
        let mut res = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::CONTENT_LENGTH, "0")
            .body(Full::new(Bytes::new()))
            .expect("valid response");
        let h = res.headers_mut();
        if let Ok(m) = HeaderValue::from_str(&self.methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
        }
        match &self.allowed_headers {
            Some(a) => {
                if let Ok(a) = HeaderValue::from_str(a) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, a);
                }
            }
            None => {
                if let Some(requested) = req.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
                    h.append(
                        header::VARY,
                        HeaderValue::from_static("Access-Control-Request-Headers"),
                    );
                }
            }
        }
        if let Some(age) = self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        res
    }
}
