//! `trustc serve` on a real socket against clients that take too long: one that never completes
//! a request head, one that keeps a connection open and sends nothing more, one whose body never
//! arrives. None of them may hold the server's connections for ever, and the one that sent a
//! head gets an answer that says why (408, a problem body the OpenAPI document describes). The
//! limits are shortened here; the defaults (75 s and 30 s) are in `Settings::new`. Shutting down:
//! idle connections close, the request in flight is answered, then `serve_until` returns.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use trustc_runtime::IssuerKey;

use super::openapi::Api;
use super::{Instance, PUBLIC_URL, Reply};

/// The shortened limits of these tests.
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(300);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);
/// Far longer than either limit: a connection still open after this was not going to close.
const PATIENCE: Duration = Duration::from_secs(10);

/// `trustc serve` (the example, SQLite in memory) on a loopback port, through `serve_until`
/// stopped by [`Serving::shut_down`] (not `serve`, whose Ctrl-C and SIGTERM handlers would be
/// the whole test process's); aborted when dropped.
struct Serving {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Serving {
    /// With the settings `configure` leaves.
    async fn start(configure: impl FnOnce(&mut trustc_runtime::Settings)) -> Serving {
        let instance = Instance::start_with(
            "sqlite::memory:",
            IssuerKey::generate(),
            PUBLIC_URL,
            configure,
        )
        .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(trustc_runtime::serve_until(
            listener,
            instance.issuer.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Serving {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// With the shortened limits.
    async fn with_short_limits() -> Serving {
        Serving::start(|settings| {
            settings.header_read_timeout = HEADER_READ_TIMEOUT;
            settings.request_timeout = REQUEST_TIMEOUT;
        })
        .await
    }

    /// Begins the shutdown; the task ends when `serve_until` returns.
    fn shut_down(&mut self) -> tokio::task::JoinHandle<()> {
        let _ = self.stop.take().expect("not shut down yet").send(());
        self.task.take().expect("not shut down yet")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Everything the server sends until it closes the connection; `None` if it is still open after
/// [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut sent = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut sent)).await {
        Ok(_) => Some(sent),
        Err(_) => None,
    }
}

/// Reads one response (it must have a `Content-Length`, as every answer of `trustc serve` has).
async fn response(stream: &mut TcpStream) -> Reply {
    let mut buffer = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = parsed.parse(&buffer).expect("an HTTP response") {
            let mut map = HeaderMap::new();
            for h in parsed.headers.iter() {
                map.append(
                    HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(h.value).unwrap(),
                );
            }
            let length: usize = map["content-length"].to_str().unwrap().parse().unwrap();
            if buffer.len() >= head + length {
                return Reply {
                    status: StatusCode::from_u16(parsed.code.unwrap()).unwrap(),
                    headers: map,
                    body: Bytes::copy_from_slice(&buffer[head..head + length]),
                };
            }
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("the server answers")
            .expect("the response is read");
        assert!(
            read > 0,
            "the server closed the connection without an answer"
        );
        buffer.extend_from_slice(&chunk[..read]);
    }
}

const NONCE_REQUEST: &[u8] = b"POST /nonce HTTP/1.1\r\nhost: issuer\r\ncontent-length: 0\r\n\r\n";

#[tokio::test]
async fn a_request_head_that_never_completes_loses_its_connection() {
    let server = Serving::with_short_limits().await;
    let addr = server.addr;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /nonce HTTP/1.1\r\nhost: issuer\r\n")
        .await
        .unwrap();
    let sent = until_closed(&mut slow)
        .await
        .expect("the server closes a connection whose request head does not arrive");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));

    // The server goes on serving others.
    let mut other = TcpStream::connect(addr).await.unwrap();
    other.write_all(NONCE_REQUEST).await.unwrap();
    assert_eq!(response(&mut other).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = Serving::with_short_limits().await;
    let addr = server.addr;
    let mut client = TcpStream::connect(addr).await.unwrap();
    // Kept alive: the second request on the connection is answered too.
    for _ in 0..2 {
        client.write_all(NONCE_REQUEST).await.unwrap();
        assert_eq!(response(&mut client).await.status, StatusCode::OK);
    }
    // Then nothing more is sent: the server closes the connection, saying nothing more.
    let sent = until_closed(&mut client)
        .await
        .expect("the server closes a connection that sits idle");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let server = Serving::with_short_limits().await;
    let addr = server.addr;
    let api = Api::load();
    let mut client = TcpStream::connect(addr).await.unwrap();
    // 100 bytes announced, 30 sent.
    client
        .write_all(
            b"POST /token HTTP/1.1\r\nhost: issuer\r\n\
              content-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\n\
              grant_type=urn%3Aietf%3Aparams",
        )
        .await
        .unwrap();
    let reply = response(&mut client).await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    let problem = api.check("post", "/token", &reply);
    assert_eq!(problem["type"], "urn:trustc:problem:request-timeout");
    assert!(
        problem["detail"].as_str().unwrap().contains("0.3 s"),
        "{problem}"
    );
    // The rest of that body can never be told from a next request: the connection ends.
    assert!(until_closed(&mut client).await.is_some());
}

#[tokio::test]
async fn shutting_down_answers_the_request_in_flight_and_closes_idle_connections() {
    // The default limits: the request in flight must not run into a shortened one.
    let mut server = Serving::start(|_| {}).await;
    let addr = server.addr;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(NONCE_REQUEST).await.unwrap();
    assert_eq!(response(&mut idle).await.status, StatusCode::OK);
    // A request in flight: its head and half its body are in when the shutdown begins.
    let body = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code\
                 &pre-authorized_code=unknown.code";
    let (first, rest) = body.split_at(20);
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(
        format!(
            "POST /token HTTP/1.1\r\nhost: issuer\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    busy.write_all(first).await.unwrap();
    // Let the server read the head before it is told to stop (it does as soon as the bytes
    // arrive; half a second is ample even on a loaded machine).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = server.shut_down();
    // The idle connection is closed at once; the busy one gets its answer, then is closed.
    assert_eq!(until_closed(&mut idle).await, Some(Vec::new()));
    busy.write_all(rest).await.unwrap();
    let answer = response(&mut busy).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.body);
    assert!(
        String::from_utf8_lossy(&answer.body).contains("invalid_grant"),
        "{:?}",
        answer.body
    );
    assert!(until_closed(&mut busy).await.is_some());
    // Then the server returns, and takes no new connection.
    tokio::time::timeout(PATIENCE, stopped)
        .await
        .expect("serve_until returns once the requests are answered")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}
