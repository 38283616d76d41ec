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
    partial: Option<(u8, Vec<u8>)>,
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
                0x8 => return Err(invalid("server sent a WebSocket close frame")),
                0x9 => {
                    self.queue_frame(0xA, &payload);
                    continue;
                }
                0xA => continue,
                0x0 => {
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
                0x1 | 0x2 => {
                    if !fin {
                        self.partial = Some((opcode, payload.to_vec()));
                        continue;
                    }
                    return to_frame(opcode, payload).map(Some);
                }
                other => return Err(invalid(format!("unknown WebSocket opcode {other}"))),
            }
        }
    }

    /// Parses one frame off the buffer: (fin, opcode, unmasked payload).
    fn parse_one(&mut self) -> io::Result<Option<(bool, u8, Bytes)>> {
        let b = &self.inbuf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0F;
        let masked = b[1] & 0x80 != 0;
        let (len, mut at) = match b[1] & 0x7F {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes(b[2..10].try_into().expect("8 bytes")),
                10,
            ),
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if len > MAX_FRAME as u64 {
            return Err(invalid("frame too large"));
        }
        let mask = if masked {
            if b.len() < at + 4 {
                return Ok(None);
            }
            at += 4;
            Some([b[at - 4], b[at - 3], b[at - 2], b[at - 1]])
        } else {
            None
        };
        let len = len as usize;
        if b.len() < at + len {
            return Ok(None);
        }
        self.inbuf.advance(at);
        let mut payload = self.inbuf.split_to(len);
        if let Some(m) = mask {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= m[i % 4];
            }
        }
        Ok(Some((fin, opcode, payload.freeze())))
    }

    /// Queues a text message (sent by the next [`WsConn::flush`]).
    pub fn queue_text(&mut self, data: &[u8]) {
        self.queue_frame(0x1, data);
    }

    /// Queues a binary message.
    pub fn queue_binary(&mut self, data: &[u8]) {
        self.queue_frame(0x2, data);
    }

    fn queue_frame(&mut self, opcode: u8, data: &[u8]) {
        self.out.push(0x80 | opcode);
        match data.len() {
            n if n < 126 => self.out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                self.out.push(0x80 | 126);
                self.out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                self.out.push(0x80 | 127);
                self.out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // xorshift32: clients must mask; the key need not be strong here.
        let mut x = self.mask_seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_seed = x;
        let mask = x.to_be_bytes();
        self.out.extend_from_slice(&mask);
        let start = self.out.len();
        self.out.extend_from_slice(data);
        for (i, byte) in self.out[start..].iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
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

fn to_frame(opcode: u8, data: Bytes) -> io::Result<Frame> {
    if opcode == 0x2 {
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
