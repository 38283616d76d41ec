//! The load generator's WebSocket side: a minimal RFC 6455 client over a raw
//! tokio `TcpStream`, and an Engine.IO v4 / Socket.IO v5 session on top of it
//! (open packet, namespace CONNECT, heartbeat answers), built on `sio-proto`.
//!
//! It is deliberately small: one buffer in, one buffer out, frames parsed in
//! place, no extensions, so that the generator costs little next to the
//! server it measures. Reading is split in two so the caller can `select!`
//! on it: [`WsConn::fill`] only reads from the socket (cancel-safe) and
//! [`WsConn::next_frame`] only parses what is buffered.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use sio_proto::engine::{OpenPacket, Packet as EnginePacket, PacketType as EngineType};
use sio_proto::websocket::{apply_mask, write_head, FrameHead, Opcode, MAX_HEAD};
use sio_proto::{Frame, Str};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest frame the generator accepts from a server.
const MAX_FRAME: usize = 16 << 20;

/// One WebSocket connection (client side).
pub struct WsConn {
    stream: TcpStream,
    inbuf: BytesMut,
    out: Vec<u8>,
    /// A fragmented message being reassembled: (opcode, data).
    partial: Option<(Opcode, Vec<u8>)>,
    mask_seed: u32,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl WsConn {
    /// Connects to `addr` and upgrades `path_and_query` to WebSocket.
    pub async fn connect(addr: SocketAddr, path_and_query: &str) -> io::Result<WsConn> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let seed = rand_seed(&stream);
        let key = base64_key(seed);
        let request = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut inbuf = BytesMut::with_capacity(1024);
        let head_end = loop {
            if let Some(i) = find(&inbuf, b"\r\n\r\n") {
                break i + 4;
            }
            if inbuf.len() > 16 * 1024 {
                return Err(invalid("upgrade response headers too long"));
            }
            if stream.read_buf(&mut inbuf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the WebSocket upgrade",
                ));
            }
        };
        let head = String::from_utf8_lossy(&inbuf[..head_end]).into_owned();
        let status = head.lines().next().unwrap_or_default();
        if !status.starts_with("HTTP/1.1 101") {
            return Err(invalid(format!("WebSocket upgrade refused: {status}")));
        }
        inbuf.advance(head_end);
        Ok(WsConn {
            stream,
            inbuf,
            out: Vec::with_capacity(256),
            partial: None,
            mask_seed: seed | 1,
        })
    }

    /// Reads more bytes from the socket into the buffer. Cancel-safe.
    pub async fn fill(&mut self) -> io::Result<()> {
        if self.inbuf.capacity() - self.inbuf.len() < 512 {
            self.inbuf.reserve(4096);
        }
        if self.stream.read_buf(&mut self.inbuf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        Ok(())
    }

    /// The next complete text or binary message already buffered, if any.
    /// Answers WebSocket pings (queued; sent by the next [`WsConn::flush`]).
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let Some((fin, opcode, payload)) = self.parse_one()? else {
                return Ok(None);
            };
            match opcode {
                Opcode::Close => return Err(invalid("server sent a WebSocket close frame")),
                Opcode::Ping => {
                    self.queue_frame(Opcode::Pong, &payload);
                    continue;
                }
                Opcode::Pong => continue,
                Opcode::Continuation => {
                    let (op, mut data) = self
                        .partial
                        .take()
                        .ok_or_else(|| invalid("continuation frame without a start"))?;
                    data.extend_from_slice(&payload);
                    if data.len() > MAX_FRAME {
                        return Err(invalid("message too large"));
                    }
                    if !fin {
                        self.partial = Some((op, data));
                        continue;
                    }
                    return to_frame(op, Bytes::from(data)).map(Some);
                }
                Opcode::Text | Opcode::Binary => {
                    if !fin {
                        self.partial = Some((opcode, payload.to_vec()));
                        continue;
                    }
                    return to_frame(opcode, payload).map(Some);
                }
            }
        }
    }

    /// Parses one frame off the buffer: (fin, opcode, unmasked payload).
    fn parse_one(&mut self) -> io::Result<Option<(bool, Opcode, Bytes)>> {
        let Some(head) = FrameHead::parse(&self.inbuf).map_err(|e| invalid(e.to_string()))? else {
            return Ok(None);
        };
        if head.len > MAX_FRAME as u64 {
            return Err(invalid("frame too large"));
        }
        let len = head.len as usize;
        if self.inbuf.len() < head.header_len + len {
            return Ok(None);
        }
        self.inbuf.advance(head.header_len);
        let mut payload = self.inbuf.split_to(len);
        if let Some(m) = head.mask {
            apply_mask(&mut payload, m, 0);
        }
        Ok(Some((head.fin, head.opcode, payload.freeze())))
    }

    /// Queues a text message (sent by the next [`WsConn::flush`]).
    pub fn queue_text(&mut self, data: &[u8]) {
        self.queue_frame(Opcode::Text, data);
    }

    /// Queues a binary message.
    pub fn queue_binary(&mut self, data: &[u8]) {
        self.queue_frame(Opcode::Binary, data);
    }

    fn queue_frame(&mut self, opcode: Opcode, data: &[u8]) {
        // xorshift32: clients must mask; the key need not be strong here.
        let mut x = self.mask_seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_seed = x;
        let mask = x.to_be_bytes();
        let mut head = [0u8; MAX_HEAD];
        let n = write_head(&mut head, true, opcode, data.len() as u64, Some(mask));
        self.out.extend_from_slice(&head[..n]);
        let start = self.out.len();
        self.out.extend_from_slice(data);
        apply_mask(&mut self.out[start..], mask, 0);
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

fn to_frame(opcode: Opcode, data: Bytes) -> io::Result<Frame> {
    if opcode == Opcode::Binary {
        return Ok(Frame::Binary(data));
    }
    Str::from_utf8(data)
        .map(Frame::Text)
        .map_err(|_| invalid("text frame is not UTF-8"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A seed that differs between connections (ephemeral port, clock).
fn rand_seed(stream: &TcpStream) -> u32 {
    let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ (u32::from(port) << 16) ^ 0x9E37_79B9
}

fn base64_key(seed: u32) -> String {
    use base64::Engine as _;
    let mut key = [0u8; 16];
    for (i, chunk) in key.chunks_mut(4).enumerate() {
        chunk.copy_from_slice(&(seed.rotate_left(i as u32 * 7) ^ i as u32).to_be_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// A Socket.IO session on the main namespace `/`, over WebSocket only.
pub struct WsSession {
    /// The connection.
    pub ws: WsConn,
}

impl WsSession {
    /// Opens an Engine.IO session at `path` (e.g. `/socket.io/`), then
    /// connects to namespace `/` and waits for the server's CONNECT reply.
    pub async fn connect(addr: SocketAddr, path: &str) -> io::Result<WsSession> {
        let mut ws = WsConn::connect(addr, &format!("{path}?EIO=4&transport=websocket")).await?;
        let open = loop {
            if let Some(frame) = ws.next_frame()? {
                break frame;
            }
            ws.fill().await?;
        };
        let packet = EnginePacket::decode_frame(open).map_err(|e| invalid(e.to_string()))?;
        match (&packet.kind, &packet.data) {
            (EngineType::Open, Some(Frame::Text(json))) => {
                OpenPacket::from_json(json).map_err(|e| invalid(format!("open packet: {e}")))?;
            }
            _ => return Err(invalid("the first packet is not an open packet")),
        }
        ws.queue_text(b"40");
        ws.flush().await?;
        let mut session = WsSession { ws };
        loop {
            match session.next().await? {
                Frame::Text(t) if t.starts_with("0") => return Ok(session),
                Frame::Text(t) if t.starts_with("4") => {
                    return Err(invalid(format!("connect_error: {}", t.as_str())))
                }
                _ => {}
            }
        }
    }

    /// The next Socket.IO data already buffered (the text of a Socket.IO
    /// packet without the Engine.IO `4`, or an attachment), answering
    /// Engine.IO pings.
    /// Pongs are queued: call [`WsConn::flush`] after a `None`.
    pub fn poll_next(&mut self) -> io::Result<Option<Frame>> {
        while let Some(frame) = self.ws.next_frame()? {
            match frame {
                Frame::Binary(b) => return Ok(Some(Frame::Binary(b))),
                Frame::Text(t) => match t.as_bytes().first() {
                    Some(b'4') => return Ok(Some(Frame::Text(t.slice(1..t.len())))),
                    Some(b'2') => self.ws.queue_text(b"3"),
                    Some(b'1') => return Err(invalid("the server closed the session")),
                    Some(b'6') => {}
                    _ => return Err(invalid(format!("unexpected packet {:?}", t.as_str()))),
                },
            }
        }
        Ok(None)
    }

    /// Waits for the next Socket.IO data.
    pub async fn next(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(item) = self.poll_next()? {
                return Ok(item);
            }
            self.ws.flush().await?;
            self.ws.fill().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_pair_buf(bytes: &[u8]) -> BytesMut {
        BytesMut::from(bytes)
    }

    #[tokio::test]
    async fn frames_round_trip_through_the_parser() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.unwrap().0 });
        let stream = TcpStream::connect(addr).await.unwrap();
        let _server = accept.await.unwrap();
        let mut conn = WsConn {
            stream,
            inbuf: BytesMut::new(),
            out: Vec::new(),
            partial: None,
            mask_seed: 7,
        };
        // What we queue (masked) must parse back to the same messages.
        conn.queue_text(b"42[\"x\"]");
        conn.queue_binary(&[0u8; 300]);
        conn.queue_text(&vec![b'a'; 70_000]);
        conn.inbuf = conn_pair_buf(&conn.out);
        conn.out.clear();
        assert_eq!(conn.next_frame().unwrap(), Some(Frame::from("42[\"x\"]")));
        assert_eq!(
            conn.next_frame().unwrap(),
            Some(Frame::Binary(Bytes::from(vec![0u8; 300])))
        );
        match conn.next_frame().unwrap() {
            Some(Frame::Text(t)) => assert_eq!(t.len(), 70_000),
            other => panic!("{other:?}"),
        }
        assert_eq!(conn.next_frame().unwrap(), None);
        // A fragmented message, unmasked as servers send it.
        conn.inbuf = conn_pair_buf(b"\x01\x02ab\x80\x01c");
        assert_eq!(conn.next_frame().unwrap(), Some(Frame::from("abc")));
        // Half a frame waits for more.
        conn.inbuf = conn_pair_buf(b"\x81\x05ab");
        assert_eq!(conn.next_frame().unwrap(), None);
        conn.inbuf = conn_pair_buf(b"\x83\x00");
        assert!(conn.next_frame().is_err());
    }
}
