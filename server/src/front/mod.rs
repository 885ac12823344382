//! Every connection to `airlock serve` arrives here first.
//!
//! The front reads request heads itself and answers the hot reads (an
//! index page, or an approved file already verified, to a client allowed
//! to read the index) straight from the caches: one parse of the head
//! without allocating, a head of static header lines, and one vectored
//! write of that head and the shared body (or, for a file of 32 KiB and
//! more, `sendfile` from its verified blob). No header map, no routing table, no middleware chain, and
//! no copy of the body into a write buffer, which is where actix-web
//! spends its time on these.
//!
//! The first request it cannot answer in full (the dashboard, the API, a
//! miss, a range, a `HEAD`, a request with a body or a query string,
//! HTTP/1.0, an unknown token) hands the connection, with the bytes
//! already read, to actix-web's HTTP/1 service, which answers it and
//! everything after it on that connection. So every rule of the index
//! (access, negotiation, integrity) still has one home in the handlers;
//! the front only repeats their answer for the cases it recognises
//! ([`answer`]), and `tests/front.rs` holds the two answers equal.
//!
//! What the front answers is recorded as actix-web's requests are: the
//! access log's line, the per-minute counts and the latency histogram.

mod answer;
mod date;
mod handover;
#[cfg(test)]
mod tests;

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use crate::access_log::AccessLog;
use crate::file_serving;
use crate::state::AppState;
use answer::Answered;
pub use handover::Prefixed;

/// How long a connection may sit idle, or take to send a whole head,
/// before the front closes it: actix-web's own keep-alive and request-head
/// timeouts.
pub const IDLE: Duration = Duration::from_secs(5);
/// The answer to a head that did not arrive in time; the connection closes.
const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// A head longer than this goes to actix-web, which refuses it properly.
const MAX_HEAD: usize = 16 * 1024;
/// Header lines the front reads; a request with more goes to actix-web.
const MAX_HEADERS: usize = 48;

/// What the front needs to answer: the server's state and its logs.
pub struct Front {
    pub state: AppState,
    pub access: Arc<AccessLog>,
}

/// What became of one parse of the buffered bytes.
enum Step {
    /// A complete head of `usize` bytes and its answer.
    Answered(usize, Answered),
    /// The head is not complete yet.
    NeedMore,
    /// Not the front's to answer: actix-web takes the connection.
    HandOver,
}

fn step(front: &Front, buf: &[u8], peer: Option<SocketAddr>, out: &mut Vec<u8>) -> Step {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => match answer::answer(front, &req, peer, out) {
            Some(answered) => Step::Answered(len, answered),
            None => Step::HandOver,
        },
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Step::NeedMore,
        Ok(httparse::Status::Partial) | Err(_) => Step::HandOver,
    }
}

/// Serve one connection: hot reads here, the rest (from the first request
/// the front does not answer on) by `app`, actix-web's HTTP/1 service.
pub async fn connection<S>(mut stream: TcpStream, front: Arc<Front>, app: Rc<S>, shutdown: actix_server::GracefulShutdownSignal) -> Result<(), ()>
where
    S: Service<(Prefixed, Option<SocketAddr>), Response = ()>,
    S::Error: std::fmt::Debug,
{
    let peer = stream.peer_addr().ok();
    // A response's last partial segment goes out at once, not after the
    // client's delayed ACK (Nagle's wait, 40 ms on Linux).
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(4096);
    let mut out = Vec::with_capacity(1024);
    // The whole of the next head must arrive by then, however it trickles in.
    let mut deadline = tokio::time::Instant::now() + IDLE;
    loop {
        out.clear();
        match step(&front, &buf, peer, &mut out) {
            Step::Answered(len, Answered::Ready(body)) => {
                buf.advance(len);
                if write_response(&mut stream, &out, &body).await.is_err() {
                    return Ok(());
                }
                deadline = tokio::time::Instant::now() + IDLE;
                continue;
            }
            Step::Answered(len, Answered::Disk(mut file)) => {
                let mut opened = file_serving::open_local_verified(&front.state, &file.blob);
                if opened.is_none() && file.memory.is_none() {
                    // Not here in a verified identity, or in an object store's cache yet.
                    let (state, blob) = (front.state.clone(), file.blob.clone());
                    opened = tokio::task::spawn_blocking(move || file_serving::open_verified_on_disk(&state, &blob)).await.ok().flatten();
                }
                let sent = match (opened, file.memory.take()) {
                    (Some((handle, size)), _) => {
                        buf.advance(len);
                        file.head(&front, size, None, &mut out);
                        send_more(&stream, &out).await.is_ok() && send_file(&stream, &handle, size).await.is_ok()
                    }
                    (None, Some((bytes, etag))) => {
                        buf.advance(len);
                        file.head(&front, bytes.len() as u64, Some(&etag), &mut out);
                        write_response(&mut stream, &out, &bytes).await.is_ok()
                    }
                    // Not verified in this identity: the handler hashes it (the head is still in `buf`).
                    (None, None) => break,
                };
                if !sent {
                    return Ok(());
                }
                deadline = tokio::time::Instant::now() + IDLE;
                continue;
            }
            Step::HandOver => break,
            Step::NeedMore => {}
        }
        let read = tokio::select! {
            read = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)) => read,
            // Idle between requests when the server stops: close now.
            _ = shutdown.notified(), if buf.is_empty() => return Ok(()),
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => {}
            // Idle too long: close. Half a head: `408`, as actix-web says it.
            Err(_) if buf.is_empty() => return Ok(()),
            Err(_) => {
                let _ = stream.write_all(REQUEST_TIMEOUT).await;
                return Ok(());
            }
        }
    }
    if let Err(e) = app.call((Prefixed::new(buf.freeze(), stream), peer)).await {
        tracing::debug!(error = ?e, "HTTP/1 connection ended with an error");
    }
    Ok(())
}

/// Write the head and the body with as few system calls as the socket
/// takes: one `writev` of both in the common case.
async fn write_response(stream: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let (mut head_done, mut body_done) = (0, 0);
    while head_done < head.len() {
        let n = stream.write_vectored(&[IoSlice::new(&head[head_done..]), IoSlice::new(&body[body_done..])]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len() - head_done);
        head_done += from_head;
        body_done += n - from_head;
    }
    stream.write_all(&body[body_done..]).await
}

/// Send `len` bytes of `file` from its start with `sendfile`: the kernel
/// copies page cache to socket, nothing passes through this process. (A
/// read of pages not cached waits on the disk on this thread, as nginx's
/// sendfile does.) The file shrinking under it is an error: the client
/// sees a short body, never other bytes.
async fn send_file(stream: &TcpStream, file: &std::fs::File, len: u64) -> io::Result<()> {
    let mut offset = 0u64;
    while offset < len {
        stream.writable().await?;
        let left = usize::try_from(len - offset).unwrap_or(usize::MAX).min(1 << 30);
        match stream.try_io(Interest::WRITABLE, || rustix::fs::sendfile(stream, file, Some(&mut offset), left).map_err(io::Error::from)) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Write a head that a body sent by `sendfile` follows, flagged
/// `MSG_MORE` so that the kernel sends both in full segments.
async fn send_more(stream: &TcpStream, head: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < head.len() {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, || rustix::net::send(stream, &head[done..], rustix::net::SendFlags::MORE).map_err(io::Error::from)) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Time since `started`, for the logs.
fn micros_since(started: Instant) -> u64 {
    started.elapsed().as_micros() as u64
}
