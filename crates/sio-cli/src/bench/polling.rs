//! The load generator's long-polling side: a minimal HTTP/1.1 keep-alive
//! client over one raw `TcpStream` per session, and an Engine.IO v4 polling
//! session with the `sio-proto` payload codec.
//!
//! One connection carries the session's requests one after the other (POST
//! the message, then GET until the answer arrives), so each request costs
//! the server one HTTP exchange and nothing else.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use sio_proto::engine::{decode_payload, OpenPacket, Packet as EnginePacket, PacketType};
use sio_proto::{Frame, Str};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response body the generator accepts.
const MAX_BODY: usize = 16 << 20;

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// One HTTP/1.1 keep-alive connection.
pub struct HttpConn {
    stream: TcpStream,
    addr: SocketAddr,
    inbuf: BytesMut,
    out: Vec<u8>,
}

impl HttpConn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<HttpConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConn {
            stream,
            addr,
            inbuf: BytesMut::with_capacity(4096),
            out: Vec::with_capacity(512),
        })
    }

    /// Sends one request and reads its response: (status, body).
    pub async fn request(
        &mut self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> io::Result<(u16, Bytes)> {
        self.out.clear();
        self.out.extend_from_slice(method.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(path_and_query.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.out.extend_from_slice(self.addr.to_string().as_bytes());
        if method == "POST" {
            self.out.extend_from_slice(
                b"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ",
            );
            self.out
                .extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        }
        self.out.extend_from_slice(b"\r\n\r\n");
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        self.read_response().await
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.inbuf.capacity() - self.inbuf.len() < 1024 {
            self.inbuf.reserve(8192);
        }
        if self.stream.read_buf(&mut self.inbuf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the HTTP connection",
            ));
        }
        Ok(())
    }

    async fn read_response(&mut self) -> io::Result<(u16, Bytes)> {
        let head_end = loop {
            if let Some(i) = find(&self.inbuf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.inbuf.len() > 64 * 1024 {
                return Err(invalid("response headers too long"));
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.inbuf[..head_end - 4])
            .map_err(|_| invalid("response headers are not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("malformed status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| invalid("bad Content-Length"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
        self.inbuf.advance(head_end);
        let body = if chunked {
            self.read_chunked().await?
        } else {
            let n = length.ok_or_else(|| invalid("response without a length"))?;
            if n > MAX_BODY {
                return Err(invalid("response body too large"));
            }
            while self.inbuf.len() < n {
                self.fill().await?;
            }
            self.inbuf.split_to(n).freeze()
        };
        Ok((status, body))
    }

    async fn read_chunked(&mut self) -> io::Result<Bytes> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.inbuf, b"\r\n") {
                    break i;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.inbuf[..line_end])
                .map_err(|_| invalid("bad chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
            if body.len() + size > MAX_BODY {
                return Err(invalid("response body too large"));
            }
            self.inbuf.advance(line_end + 2);
            while self.inbuf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.inbuf[..size]);
            self.inbuf.advance(size + 2);
            if size == 0 {
                return Ok(Bytes::from(body));
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A Socket.IO session on namespace `/` over long-polling only.
pub struct PollingSession {
    http: HttpConn,
    /// `{path}?EIO=4&transport=polling&sid=...`.
    url: String,
}

impl PollingSession {
    /// Handshakes at `path` (e.g. `/socket.io/`) and connects to `/`.
    pub async fn connect(addr: SocketAddr, path: &str) -> io::Result<PollingSession> {
        let mut http = HttpConn::connect(addr).await?;
        let (status, body) = http
            .request("GET", &format!("{path}?EIO=4&transport=polling"), b"")
            .await?;
        if status != 200 {
            return Err(invalid(format!("handshake refused: HTTP {status}")));
        }
        let text = Str::from_utf8(body).map_err(|_| invalid("handshake is not UTF-8"))?;
        let open = text
            .strip_prefix('0')
            .ok_or_else(|| invalid("the first packet is not an open packet"))?;
        let open = OpenPacket::from_json(open).map_err(|e| invalid(format!("open packet: {e}")))?;
        let mut session = PollingSession {
            http,
            url: format!("{path}?EIO=4&transport=polling&sid={}", open.sid),
        };
        session.post(b"40").await?;
        loop {
            for item in session.poll().await? {
                match item {
                    Frame::Text(t) if t.starts_with('0') => return Ok(session),
                    Frame::Text(t) if t.starts_with('4') => {
                        return Err(invalid(format!("connect_error: {}", t.as_str())))
                    }
                    _ => {}
                }
            }
        }
    }

    /// POSTs one payload (already encoded: packets joined by `\x1e`).
    pub async fn post(&mut self, payload: &[u8]) -> io::Result<()> {
        let (status, body) = self.http.request("POST", &self.url, payload).await?;
        if status != 200 || &body[..] != b"ok" {
            return Err(invalid(format!(
                "POST refused: HTTP {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(())
    }

    /// One GET: the Socket.IO data it carried (pings are answered).
    pub async fn poll(&mut self) -> io::Result<Vec<Frame>> {
        let (status, body) = self.http.request("GET", &self.url, b"").await?;
        if status != 200 {
            return Err(invalid(format!("GET refused: HTTP {status}")));
        }
        let body = Str::from_utf8(body).map_err(|_| invalid("payload is not UTF-8"))?;
        let mut items = Vec::new();
        let mut pong = false;
        for packet in decode_payload(body) {
            let packet = packet.map_err(|e| invalid(e.to_string()))?;
            match (packet.kind, packet.data) {
                (PacketType::Message, Some(Frame::Text(t))) => items.push(Frame::Text(t)),
                (PacketType::Message, Some(Frame::Binary(b))) => items.push(Frame::Binary(b)),
                (PacketType::Ping, _) => pong = true,
                (PacketType::Noop, _) => {}
                (PacketType::Close, _) => return Err(invalid("the server closed the session")),
                (kind, _) => return Err(invalid(format!("unexpected packet {kind:?}"))),
            }
        }
        if pong {
            let mut out = Vec::new();
            EnginePacket::pong().encode_text_into(&mut out);
            self.post(&out).await?;
        }
        Ok(items)
    }
}
