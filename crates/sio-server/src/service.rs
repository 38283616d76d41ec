//! The tower glue: a [`Layer`](tower_layer::Layer) that mounts the engine in
//! front of any service (an axum router, say), and [`listen`], a standalone
//! server.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::client_files::ClientFiles;
use crate::engine::{Engine, EngineHandler};

/// The peer address of a connection, put in the request extensions by
/// [`serve`] (read into `handshake.address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

pin_project_lite::pin_project! {
    /// The response body: the engine's, or the inner service's.
    // The macro takes no doc comments on fields; `body` is the body.
    #[allow(missing_docs)]
    #[project = BodyProj]
    pub enum ResponseBody<B> {
        /// Written by the engine.
        Engine { #[pin] body: Full<Bytes> },
        /// Written by the inner service.
        Inner { #[pin] body: B },
    }
}

impl<B> http_body::Body for ResponseBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.project() {
            BodyProj::Engine { body } => body.poll_frame(cx).map_err(|never| match never {}),
            BodyProj::Inner { body } => body.poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Engine { body } => body.is_end_stream(),
            ResponseBody::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Engine { body } => body.size_hint(),
            ResponseBody::Inner { body } => body.size_hint(),
        }
    }
}

/// A service that answers 404 to everything: the inner service of a
/// standalone server.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> tower_service::Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        let res = Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::new()))
            .expect("valid");
        std::future::ready(Ok(res))
    }
}

/// Serves the engine's path and passes every other request to `inner`.
pub struct EngineService<H: EngineHandler, S> {
    engine: Arc<Engine<H>>,
    inner: S,
    client_files: Option<ClientFiles>,
}

impl<H: EngineHandler, S: Clone> Clone for EngineService<H, S> {
    fn clone(&self) -> Self {
        EngineService {
            engine: self.engine.clone(),
            inner: self.inner.clone(),
            client_files: self.client_files.clone(),
        }
    }
}

impl<H: EngineHandler, S> EngineService<H, S> {
    /// The engine in front of `inner`.
    pub fn new(engine: Arc<Engine<H>>, inner: S) -> Self {
        EngineService {
            engine,
            inner,
            client_files: None,
        }
    }

    /// Also serves the browser client at `<path>socket.io.js` and the other
    /// [`CLIENT_FILE_NAMES`](crate::CLIENT_FILE_NAMES) (`None`: don't).
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// let files = sio_server::ClientFiles::from_package("node_modules/socket.io-client").unwrap();
    /// let service = io.service().with_client_files(Some(files));
    /// # }
    /// ```
    pub fn with_client_files(mut self, files: Option<ClientFiles>) -> Self {
        self.client_files = files;
        self
    }

    /// The answer for a client file, if `req` asks for one: the file name
    /// is what follows the engine's path, as the reference's
    /// `extractFilename`. CORS applies as on the engine's own answers.
    fn client_file<B>(&self, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
        let files = self.client_files.as_ref()?;
        let config = self.engine.config();
        let name = req.uri().path().strip_prefix(config.path.as_str())?;
        let cors = config.cors.as_ref();
        if req.method() == http::Method::OPTIONS && files.get(name).is_some() {
            if let Some(cors) = cors {
                return Some(cors.preflight(req.headers()));
            }
        }
        let mut res = files.respond(name, req)?;
        if let Some(cors) = cors {
            cors.apply(req.headers().get(http::header::ORIGIN), res.headers_mut());
        }
        Some(res)
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<H, S, B, ResB> tower_service::Service<Request<B>> for EngineService<H, S>
where
    H: EngineHandler,
    S: tower_service::Service<Request<B>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(res) = self.client_file(&req) {
            // Mapped inside the future: ResB and S::Error need not be Send.
            return Box::pin(async move { Ok(res.map(|body| ResponseBody::Engine { body })) });
        }
        if self.engine.matches(&req) {
            // The engine's future is made inside the box, not moved in.
            let engine = self.engine.clone();
            Box::pin(async move {
                let res = engine.serve(req).await;
                Ok(res.map(|body| ResponseBody::Engine { body }))
            })
        } else {
            let fut = self.inner.call(req);
            Box::pin(async move {
                fut.await
                    .map(|res| res.map(|body| ResponseBody::Inner { body }))
            })
        }
    }
}

/// The [`Layer`](tower_layer::Layer) that puts an engine in front of a service.
pub struct EngineLayer<H: EngineHandler> {
    engine: Arc<Engine<H>>,
    client_files: Option<ClientFiles>,
}

impl<H: EngineHandler> Clone for EngineLayer<H> {
    fn clone(&self) -> Self {
        EngineLayer {
            engine: self.engine.clone(),
            client_files: self.client_files.clone(),
        }
    }
}

impl<H: EngineHandler> EngineLayer<H> {
    /// A layer serving `engine`.
    pub fn new(engine: Arc<Engine<H>>) -> Self {
        EngineLayer {
            engine,
            client_files: None,
        }
    }

    /// Also serves the browser client: see [`EngineService::with_client_files`].
    ///
    /// ```no_run
    /// # fn f(io: sio_server::SocketIo) {
    /// let files = sio_server::ClientFiles::from_package("node_modules/socket.io-client").unwrap();
    /// let layer = io.layer().with_client_files(Some(files));
    /// # }
    /// ```
    pub fn with_client_files(mut self, files: Option<ClientFiles>) -> Self {
        self.client_files = files;
        self
    }
}

impl<H: EngineHandler, S> tower_layer::Layer<S> for EngineLayer<H> {
    type Service = EngineService<H, S>;
    fn layer(&self, inner: S) -> Self::Service {
        EngineService::new(self.engine.clone(), inner).with_client_files(self.client_files.clone())
    }
}

/// Whether the query of `req` has a `sid` parameter. Such requests go
/// without [`RemoteAddr`]: they are most of a long-polling session's
/// requests, nothing reads the address there, and an extension costs two
/// allocations per request.
fn names_a_session<B>(req: &Request<B>) -> bool {
    let Some(query) = req.uri().query() else {
        return false;
    };
    let b = query.as_bytes();
    b.starts_with(b"sid=") || b.windows(5).any(|w| w == b"&sid=")
}

/// Serves `service` on `listener` (HTTP/1.1 with upgrades)
/// until the task is dropped. Each request carries the peer's [`RemoteAddr`],
/// except those whose query names a `sid` (the Engine.IO requests of an open
/// session: its handshake has the address already).
pub async fn serve<S, ResB>(listener: TcpListener, service: S) -> std::io::Result<()>
where
    S: tower_service::Service<Request<hyper::body::Incoming>, Response = Response<ResB>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResB: http_body::Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                if !names_a_session(&req) {
                    req.extensions_mut().insert(RemoteAddr(addr));
                }
                let mut service = service.clone();
                async move { tower_service::Service::call(&mut service, req).await }
            });
            // HTTP/1.1 only, as Node's `http` server: the WebSocket then
            // gets the bare TcpStream back (see engine::ws), and hyper's read
            // buffer is freed at the upgrade instead of staying with it.
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await
            {
                tracing::debug!("connection from {addr} ended: {e}");
            }
        });
    }
}
