//! [`WsConn`]: the server side of one WebSocket connection, over the
//! upgraded HTTP connection, with the frame codec of `sio_proto::websocket`.
//!
//! Built for connections that are idle most of the time:
//! - no read buffer of its own: each read lands in a buffer on the stack of
//!   the polling thread, frames are parsed there and only their payloads are
//!   copied out (one allocation per message, which the layers above keep);
//!   only the bytes of a frame that is not complete yet are kept, in
//!   `partial`, which is empty (unallocated) between messages;
//! - no write buffer either: queued packets go out with one vectored write,
//!   header slices pointing at the payloads; only what the socket does not
//!   take right away is copied into `out`, freed once written.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use sio_proto::engine::Packet;
use sio_proto::websocket::{apply_mask, write_head, FrameError, FrameHead, Opcode, MAX_HEAD};
use sio_proto::{Frame, Str};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// The connection under a WebSocket: the bare TCP stream when the server
/// is [`serve`](crate::serve) (hyper's buffers freed, and shared so that a
/// sender can write a frame straight to it, see [`write_now`]), else
/// whatever hyper's upgrade gives (behind another server, TLS, ...).
pub(crate) enum WsIo {
    /// Read by the driver alone; the write half is shared with senders.
    Tcp {
        read: OwnedReadHalf,
        write: Arc<OwnedWriteHalf>,
    },
    /// Boxed: rare, and bigger than the two halves.
    Upgraded(Box<TokioIo<hyper::upgrade::Upgraded>>),
}

impl WsIo {
    /// The connection of an upgrade, and the bytes hyper had read past the
    /// request (frames the client sent without waiting for the 101).
    pub(crate) fn from_upgraded(upgraded: hyper::upgrade::Upgraded) -> (WsIo, Bytes) {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let (read, write) = parts.io.into_inner().into_split();
                let io = WsIo::Tcp {
                    read,
                    write: Arc::new(write),
                };
                (io, parts.read_buf)
            }
            Err(upgraded) => (
                WsIo::Upgraded(Box::new(TokioIo::new(upgraded))),
                Bytes::new(),
            ),
        }
    }
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            // tokio's own read: a short read clears the readiness, so the
            // next one waits for data instead of trying (and failing) first.
            WsIo::Tcp { read, .. } => Pin::new(read).poll_read(cx, buf),
            WsIo::Upgraded(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Tcp { write, .. } => loop {
                let s: &TcpStream = (**write).as_ref();
                ready!(s.poll_write_ready(cx))?;
                match s.try_write(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            WsIo::Upgraded(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Tcp { write, .. } => loop {
                let s: &TcpStream = (**write).as_ref();
                ready!(s.poll_write_ready(cx))?;
                match s.try_write_vectored(bufs) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            WsIo::Upgraded(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WsIo::Tcp { .. } => true,
            WsIo::Upgraded(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Tcp { .. } => Poll::Ready(Ok(())),
            WsIo::Upgraded(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            // Shared: the write half shuts down when its last reference goes.
            WsIo::Tcp { .. } => Poll::Ready(Ok(())),
            WsIo::Upgraded(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Headers and payload slices of up to `N` frames, for one vectored
/// write: built on the stack, pointing at the payloads (no copy).
struct Iov<'a, const N: usize> {
    /// The frame header and, for text packets, the Engine.IO type digit.
    heads: [[u8; MAX_HEAD + 1]; N],
    head_lens: [usize; N],
    payloads: [&'a [u8]; N],
    n: usize,
}

impl<'a, const N: usize> Iov<'a, N> {
    fn new() -> Self {
        Iov {
            heads: [[0; MAX_HEAD + 1]; N],
            head_lens: [0; N],
            payloads: [&[]; N],
            n: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.n == N
    }

    /// Adds one frame: `digit` (the Engine.IO type) goes before the payload.
    fn push(&mut self, opcode: Opcode, digit: Option<u8>, payload: &'a [u8]) {
        let i = self.n;
        self.head_lens[i] = head_into(&mut self.heads[i], opcode, digit, payload.len());
        self.payloads[i] = payload;
        self.n += 1;
    }

    /// Adds an Engine.IO message (text or binary).
    fn push_message(&mut self, frame: &'a Frame) {
        let (opcode, digit, payload) = message_parts(frame);
        self.push(opcode, digit, payload);
    }

    /// Fills `pairs` with (head, payload) slices: the first `2 * n` slices
    /// of `pairs.as_flattened_mut()` are the write.
    fn slices<'s>(&'s self, pairs: &mut [[IoSlice<'s>; 2]; N]) -> usize {
        for (i, pair) in pairs.iter_mut().enumerate().take(self.n) {
            *pair = [
                IoSlice::new(&self.heads[i][..self.head_lens[i]]),
                IoSlice::new(self.payloads[i]),
            ];
        }
        2 * self.n
    }
}

/// Writes the frame header of a message of `payload_len` bytes to `out`,
/// then `digit` (the Engine.IO type of a text packet): the head's length.
fn head_into(
    out: &mut [u8; MAX_HEAD + 1],
    opcode: Opcode,
    digit: Option<u8>,
    payload_len: usize,
) -> usize {
    let len = payload_len + usize::from(digit.is_some());
    let mut h = write_head(out, true, opcode, len as u64, None);
    if let Some(d) = digit {
        out[h] = d;
        h += 1;
    }
    h
}

/// The opcode, type digit and payload of an Engine.IO message frame.
fn message_parts(frame: &Frame) -> (Opcode, Option<u8>, &[u8]) {
    match frame {
        Frame::Text(t) => (Opcode::Text, Some(b'4'), t.as_bytes()),
        Frame::Binary(b) => (Opcode::Binary, None, b),
    }
}

/// Frames of at most this many bytes in all (headers included) are copied
/// into one buffer and sent with one plain write instead of a vectored one:
/// the kernel then takes one segment, not two per frame, which is cheaper
/// than the copy for the small packets of most traffic.
const COPY_MAX: usize = 2048;

thread_local! {
    /// The copy buffer of [`write_copied`], reused (it holds at most
    /// `COPY_MAX` bytes).
    static COPY_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The bytes of `frame` on the wire (header, Engine.IO type digit, payload).
fn wire_len(frame: &Frame) -> usize {
    let len = match frame {
        Frame::Text(t) => t.len() + 1,
        Frame::Binary(b) => b.len(),
    };
    len + match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// How much of a write the socket took.
enum Wrote {
    All,
    Nothing,
    /// Part: these bytes are the rest.
    Part(Bytes),
}

/// Writes `frames` (small: at most [`COPY_MAX`] bytes in all) with one
/// plain write from a copy.
fn write_copied<'f>(tcp: &TcpStream, frames: impl Iterator<Item = &'f Frame>) -> Wrote {
    COPY_BUF.with_borrow_mut(|buf| {
        buf.clear();
        for frame in frames {
            let (opcode, digit, payload) = message_parts(frame);
            let mut head = [0u8; MAX_HEAD + 1];
            let h = head_into(&mut head, opcode, digit, payload.len());
            buf.extend_from_slice(&head[..h]);
            buf.extend_from_slice(payload);
        }
        let mut written = 0;
        while written < buf.len() {
            match tcp.try_write(&buf[written..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n,
            }
        }
        match written {
            _ if written == buf.len() => Wrote::All,
            0 => Wrote::Nothing,
            _ => Wrote::Part(Bytes::copy_from_slice(&buf[written..])),
        }
    })
}

/// Writes `slices` with vectored writes, as far as the socket takes them.
fn write_slices(tcp: &TcpStream, mut rest: &mut [IoSlice<'_>]) -> Wrote {
    let mut written_any = false;
    while !rest.is_empty() {
        match tcp.try_write_vectored(rest) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                written_any = true;
                IoSlice::advance_slices(&mut rest, n);
            }
        }
    }
    if rest.is_empty() {
        return Wrote::All;
    }
    if !written_any {
        return Wrote::Nothing;
    }
    let mut bytes = Vec::with_capacity(rest.iter().map(|s| s.len()).sum());
    for s in rest.iter() {
        bytes.extend_from_slice(s);
    }
    Wrote::Part(Bytes::from(bytes))
}

/// What is left after a write of the frames `begun`, with `later` not
/// written yet.
fn unwritten(wrote: Wrote, begun: impl Iterator<Item = Frame>, later: Vec<Frame>) -> Unwritten {
    match wrote {
        Wrote::All if later.is_empty() => Unwritten::None,
        Wrote::All => Unwritten::Frames(later),
        Wrote::Nothing => Unwritten::Frames(begun.chain(later).collect()),
        Wrote::Part(rest) => Unwritten::Partial(rest, later),
    }
}

/// [`write_now`] of one frame (most packets): no batch to build.
fn write_one(tcp: &TcpStream, mut frames: impl Iterator<Item = Frame>) -> Unwritten {
    let Some(frame) = frames.next() else {
        return Unwritten::None;
    };
    let wrote = if wire_len(&frame) <= COPY_MAX {
        write_copied(tcp, std::iter::once(&frame))
    } else {
        let (opcode, digit, payload) = message_parts(&frame);
        let mut head = [0u8; MAX_HEAD + 1];
        let h = head_into(&mut head, opcode, digit, payload.len());
        write_slices(tcp, &mut [IoSlice::new(&head[..h]), IoSlice::new(payload)])
    };
    unwritten(wrote, std::iter::once(frame), Vec::new())
}

/// What [`write_now`] could not write.
pub(crate) enum Unwritten {
    /// Nothing: every frame went out.
    None,
    /// The socket took nothing: send these frames later, in order.
    Frames(Vec<Frame>),
    /// The socket took part: these bytes (the rest of the frames begun)
    /// first, then these frames.
    Partial(Bytes, Vec<Frame>),
}

/// Writes Engine.IO messages straight to the socket, without waiting and
/// without waking the connection's task: what a sender does when nothing
/// else is queued for that connection (acks answered from a handler, and
/// broadcasts, which then cost no task wake-up per recipient).
pub(crate) fn write_now(
    tcp: &TcpStream,
    frames: impl ExactSizeIterator<Item = Frame>,
) -> Unwritten {
    // Sized to the frames: a packet and its attachment need no room (to
    // set up and to drop) for sixteen.
    match frames.len() {
        1 => write_one(tcp, frames),
        2 => write_batch::<2>(tcp, frames),
        _ => write_batch::<BATCH>(tcp, frames),
    }
}

/// [`write_now`] of up to `N` frames in one write, the rest queued.
fn write_batch<const N: usize>(
    tcp: &TcpStream,
    mut frames: impl Iterator<Item = Frame>,
) -> Unwritten {
    let mut batch: [Option<Frame>; N] = std::array::from_fn(|_| None);
    let mut count = 0;
    while count < N {
        match frames.next() {
            Some(f) => batch[count] = Some(f),
            None => break,
        }
        count += 1;
    }
    let begun = &mut batch[..count];
    let wrote = if begun.iter().flatten().map(wire_len).sum::<usize>() <= COPY_MAX {
        write_copied(tcp, begun.iter().flatten())
    } else {
        let mut iov = Iov::<N>::new();
        for f in begun.iter().flatten() {
            iov.push_message(f);
        }
        let mut pairs = [[IoSlice::new(&[]); 2]; N];
        let n = iov.slices(&mut pairs);
        write_slices(tcp, &mut pairs.as_flattened_mut()[..n])
    };
    unwritten(
        wrote,
        begun.iter_mut().filter_map(Option::take),
        frames.collect(),
    )
}

/// The most bytes one read takes (the stack buffer).
const READ_CHUNK: usize = 16 * 1024;

/// Frames per vectored write.
const BATCH: usize = 16;

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum WsError {
    /// The TCP connection failed.
    Io(io::Error),
    /// The peer closed the TCP connection without a close frame.
    Eof,
    /// The peer sent a close frame.
    Closed,
    /// A message over `max_payload`: close with 1009.
    TooLarge,
    /// A frame RFC 6455 forbids, or text that is not UTF-8: close with this code.
    Protocol(u16),
}

impl From<io::Error> for WsError {
    fn from(e: io::Error) -> Self {
        WsError::Io(e)
    }
}

impl From<FrameError> for WsError {
    fn from(e: FrameError) -> Self {
        WsError::Protocol(e.close_code())
    }
}

/// One server-side WebSocket connection.
pub(crate) struct WsConn {
    io: WsIo,
    /// Received bytes not parsed yet (an incomplete frame).
    partial: Vec<u8>,
    /// A fragmented message being reassembled: (is text, data so far).
    /// Boxed: rare (clients do not fragment small messages).
    fragments: Option<Box<(bool, Vec<u8>)>>,
    /// Bytes to write that the socket did not take yet (pongs included).
    out: Vec<u8>,
    max_payload: usize,
    read_chunk: usize,
}

impl WsConn {
    /// `early`: bytes already read from the connection (they come first).
    /// `max_payload` bounds one message; `read_chunk` one read (at most 16 KiB).
    pub(crate) fn new(io: WsIo, early: &[u8], max_payload: usize, read_chunk: usize) -> WsConn {
        WsConn {
            io,
            partial: early.to_vec(),
            fragments: None,
            out: Vec::new(),
            max_payload,
            read_chunk: read_chunk.clamp(64, READ_CHUNK),
        }
    }

    /// Waits for data and hands every complete message to `f`, in order,
    /// until `f` returns `Some` (the rest stays buffered for the next call).
    /// `Ok(None)`: everything read was handed over. Cancel-safe.
    pub(crate) async fn read_with<R>(
        &mut self,
        mut f: impl FnMut(Frame) -> Option<R>,
    ) -> Result<Option<R>, WsError> {
        if !self.partial.is_empty() {
            let buf = std::mem::take(&mut self.partial);
            let (used, r) = self.parse(&buf, &mut f)?;
            self.keep(buf, used);
            if r.is_some() {
                return Ok(r);
            }
        }
        poll_fn(|cx| self.poll_read_with(cx, &mut f)).await
    }

    /// The next message.
    pub(crate) async fn next_frame(&mut self) -> Result<Frame, WsError> {
        loop {
            if let Some(frame) = self.read_with(Some).await? {
                return Ok(frame);
            }
        }
    }

    fn poll_read_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: &mut impl FnMut(Frame) -> Option<R>,
    ) -> Poll<Result<Option<R>, WsError>> {
        let mut stack = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut rb = ReadBuf::uninit(&mut stack[..self.read_chunk]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let data = rb.filled();
        if data.is_empty() {
            return Poll::Ready(Err(WsError::Eof));
        }
        if self.partial.is_empty() {
            let (used, r) = self.parse(data, f)?;
            self.partial.extend_from_slice(&data[used..]);
            return Poll::Ready(Ok(r));
        }
        let mut buf = std::mem::take(&mut self.partial);
        buf.extend_from_slice(data);
        let (used, r) = self.parse(&buf, f)?;
        self.keep(buf, used);
        Poll::Ready(Ok(r))
    }

    /// Keeps the unparsed tail of `buf` (freeing it when nothing is left).
    fn keep(&mut self, mut buf: Vec<u8>, used: usize) {
        if used < buf.len() {
            buf.drain(..used);
            self.partial = buf;
        }
    }

    /// Parses the complete frames at the start of `data`: returns how many
    /// bytes they took, and what `f` returned if it stopped.
    fn parse<R>(
        &mut self,
        data: &[u8],
        f: &mut impl FnMut(Frame) -> Option<R>,
    ) -> Result<(usize, Option<R>), WsError> {
        let mut at = 0;
        while let Some(head) = FrameHead::parse(&data[at..])? {
            // Clients must mask every frame (RFC 6455 5.1).
            let mask = head.mask.ok_or(WsError::Protocol(1002))?;
            if head.len > self.max_payload as u64 {
                return Err(WsError::TooLarge);
            }
            let end = at + head.header_len + head.len as usize;
            if data.len() < end {
                break;
            }
            let payload = &data[at + head.header_len..end];
            at = end;
            let message = match head.opcode {
                Opcode::Text | Opcode::Binary => {
                    if self.fragments.is_some() {
                        return Err(WsError::Protocol(1002));
                    }
                    let mut bytes = payload.to_vec();
                    apply_mask(&mut bytes, mask, 0);
                    let text = head.opcode == Opcode::Text;
                    if !head.fin {
                        self.fragments = Some(Box::new((text, bytes)));
                        continue;
                    }
                    (text, bytes)
                }
                Opcode::Continuation => {
                    let (text, mut bytes) =
                        *self.fragments.take().ok_or(WsError::Protocol(1002))?;
                    if bytes.len() + payload.len() > self.max_payload {
                        return Err(WsError::TooLarge);
                    }
                    let start = bytes.len();
                    bytes.extend_from_slice(payload);
                    apply_mask(&mut bytes[start..], mask, 0);
                    if !head.fin {
                        self.fragments = Some(Box::new((text, bytes)));
                        continue;
                    }
                    (text, bytes)
                }
                Opcode::Ping => {
                    let mut bytes = payload.to_vec();
                    apply_mask(&mut bytes, mask, 0);
                    self.queue_raw(Opcode::Pong, &bytes);
                    continue;
                }
                Opcode::Pong => continue,
                Opcode::Close => return Err(WsError::Closed),
            };
            let frame = match message {
                (true, bytes) => Frame::Text(
                    Str::from_utf8(Bytes::from(bytes)).map_err(|_| WsError::Protocol(1007))?,
                ),
                (false, bytes) => Frame::Binary(Bytes::from(bytes)),
            };
            if let Some(r) = f(frame) {
                return Ok((at, Some(r)));
            }
        }
        Ok((at, None))
    }

    /// Appends one whole frame to `out` (control frames, the close frame).
    fn queue_raw(&mut self, opcode: Opcode, payload: &[u8]) {
        let mut head = [0u8; MAX_HEAD];
        let n = write_head(&mut head, true, opcode, payload.len() as u64, None);
        self.out.extend_from_slice(&head[..n]);
        self.out.extend_from_slice(payload);
    }

    /// Sends bytes already framed (the rest of a direct write), then
    /// Engine.IO packets, one frame each, in order: written at once as far
    /// as the socket takes them, the rest when it can.
    /// `base64_binary`: binary goes as `b` + base64 text (`b64=1` clients).
    pub(crate) async fn send<'a, I>(
        &mut self,
        framed: Option<&[u8]>,
        packets: I,
        base64_binary: bool,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = &'a Packet>,
    {
        if let Some(bytes) = framed {
            self.out.extend_from_slice(bytes);
            self.flush().await?;
        }
        let mut packets = packets.into_iter().peekable();
        // Rare, so allocated: the base64 texts, in packet order.
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        if base64_binary {
            let all: Vec<&Packet> = packets.collect();
            for p in &all {
                if let Some(Frame::Binary(b)) = &p.data {
                    let text = base64::engine::general_purpose::STANDARD.encode(b.as_ref());
                    encoded.push(format!("b{text}").into_bytes());
                }
            }
            let mut texts = encoded.iter().map(Vec::as_slice);
            let mut all = all.into_iter().peekable();
            while all.peek().is_some() {
                poll_fn(|cx| Poll::Ready(self.write_some(cx, &mut all, &mut texts))).await?;
                self.flush().await?;
            }
            return Ok(());
        }
        let mut none = std::iter::empty();
        while packets.peek().is_some() {
            poll_fn(|cx| Poll::Ready(self.write_some(cx, &mut packets, &mut none))).await?;
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes up to [`BATCH`] packets with one vectored write; what the
    /// socket does not take goes to `out`. Binary packets take their text
    /// from `base64` when it has one.
    fn write_some<'a>(
        &mut self,
        cx: &mut Context<'_>,
        packets: &mut impl Iterator<Item = &'a Packet>,
        base64: &mut impl Iterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        let mut iov = Iov::<BATCH>::new();
        for packet in packets.by_ref() {
            match &packet.data {
                None => iov.push(Opcode::Text, Some(packet.kind.digit()), &[]),
                Some(Frame::Text(t)) => {
                    iov.push(Opcode::Text, Some(packet.kind.digit()), t.as_bytes())
                }
                Some(Frame::Binary(b)) => match base64.next() {
                    Some(text) => iov.push(Opcode::Text, None, text),
                    None => iov.push(Opcode::Binary, None, b),
                },
            }
            if iov.is_full() {
                break;
            }
        }
        let mut pairs = [[IoSlice::new(&[]); 2]; BATCH];
        let n = iov.slices(&mut pairs);
        let mut rest: &mut [IoSlice<'_>] = &mut pairs.as_flattened_mut()[..n];
        // Only write directly when nothing older is waiting.
        while self.out.is_empty() && !rest.is_empty() {
            match Pin::new(&mut self.io).poll_write_vectored(cx, rest) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(written)) => IoSlice::advance_slices(&mut rest, written),
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        for s in rest.iter() {
            self.out.extend_from_slice(s);
        }
        Ok(())
    }

    /// The shared TCP stream, when the connection is one.
    pub(crate) fn tcp(&self) -> Option<&Arc<OwnedWriteHalf>> {
        match &self.io {
            WsIo::Tcp { write, .. } => Some(write),
            WsIo::Upgraded(_) => None,
        }
    }

    /// Writes what `out` holds, then frees it.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let mut written = 0;
        while written < self.out.len() {
            let n =
                poll_fn(|cx| Pin::new(&mut self.io).poll_write(cx, &self.out[written..])).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written += n;
        }
        self.out = Vec::new();
        poll_fn(|cx| Pin::new(&mut self.io).poll_flush(cx)).await
    }

    /// Whether bytes (a pong) wait in `out`.
    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Sends a close frame (with `code` if given) and shuts the socket down.
    pub(crate) async fn close(&mut self, code: Option<u16>) {
        match code {
            Some(code) => self.queue_raw(Opcode::Close, &code.to_be_bytes()),
            None => self.queue_raw(Opcode::Close, &[]),
        }
        let _ = self.flush().await;
        let _ = poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await;
    }
}
