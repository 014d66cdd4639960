//! The runtime's outbound HTTP client, [`HttpClient`]: the wire behind the domain's
//! [`Fetch`] port, used by the verifier of presentations to fetch a trusted issuer's keys and
//! status lists, and by the relying party of a login to talk to an OpenID Provider (discovery,
//! keys, the token endpoint's form POST, userinfo with a bearer token).
//!
//! It fetches what another party serves, so it keeps to a few rules whatever the caller asks:
//! only `https` (certificates checked against Mozilla's roots, compiled in), plain `http` only to
//! a loopback address, where a development issuer runs; no redirect followed (a 3xx is an error
//! naming where it pointed, so an issuer cannot send the verifier elsewhere); one deadline for
//! the whole exchange, connection and body included; and a cap on the body, beyond which nothing
//! more is read.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION, USER_AGENT,
};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::domain::fetch::{Fetch, FetchError, Fetched, Request, is_loopback};

/// The `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("trustc/", env!("CARGO_PKG_VERSION"));

/// An HTTPS client (GETs, and form POSTs) with a deadline and a body cap (see the module documentation).
/// Connections are pooled; clone-free sharing through `Arc<dyn Fetch>`.
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// How long one exchange may take, from connecting to the body's last byte.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The largest body read (256 KiB): more than any issuer metadata, DID document or status
    /// list token of 2^20 entries needs.
    pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

    /// A client whose exchanges end after `timeout` and whose bodies are refused beyond
    /// `max_body` bytes. Fails only if TLS cannot be set up with the `ring` provider.
    pub fn new(timeout: Duration, max_body: usize) -> Result<HttpClient, FetchError> {
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(ring_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError(format!("TLS could not be set up: {e}")))?
            .with_webpki_roots()
            .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            // Which scheme may go where is decided in `check_url`, before connecting.
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpClient {
            client,
            timeout,
            max_body,
        })
    }

    /// [`HttpClient::new`] with [`HttpClient::DEFAULT_TIMEOUT`] and
    /// [`HttpClient::DEFAULT_MAX_BODY`].
    pub fn with_defaults() -> Result<HttpClient, FetchError> {
        HttpClient::new(HttpClient::DEFAULT_TIMEOUT, HttpClient::DEFAULT_MAX_BODY)
    }

    /// The request and its whole answer, without the deadline (see [`Fetch::send`]).
    async fn exchange(&self, request: &Request<'_>) -> Result<Fetched, FetchError> {
        let url = request.url;
        let method = request.method();
        let fail = |what: String| FetchError(format!("{method} {url}: {what}"));
        let mut target = url.clone();
        target.set_fragment(None);
        let uri: hyper::Uri = target
            .as_str()
            .parse()
            .map_err(|e| fail(format!("not a URL hyper accepts ({e})")))?;
        let accept = HeaderValue::from_str(request.accept)
            .map_err(|_| fail(format!("`{}` is not a valid Accept header", request.accept)))?;
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header(ACCEPT, accept)
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some(authorization) = request.authorization {
            // The value is a secret: the error does not quote it.
            let mut value = HeaderValue::from_str(authorization).map_err(|_| {
                fail("the Authorization header value has characters a header cannot hold".into())
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let body = match request.form {
            Some(pairs) => {
                builder = builder.header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter())
                    .finish();
                Full::new(Bytes::from(encoded))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder
            .body(body)
            .map_err(|e| fail(format!("the request could not be made ({e})")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| fail(format!("no answer: {}", causes(&e))))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("(no Location header)");
            return Err(fail(format!(
                "answered {} redirecting to `{location}`; redirects are not followed, the URL \
                 must answer itself",
                status.as_u16()
            )));
        }
        let too_large = || {
            fail(format!(
                "the answer's body is larger than the {} bytes accepted",
                self.max_body
            ))
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body as u64) {
            return Err(too_large());
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|t| t.to_str().ok())
            .map(str::to_owned);
        let mut body = response.into_body();
        let mut bytes = Vec::with_capacity(declared.map_or(4096, |l| l as usize));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| fail(format!("the body broke off: {}", causes(&e))))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > self.max_body {
                    // Dropping the body closes the connection: nothing more is read.
                    return Err(too_large());
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Fetched {
            status: status.as_u16(),
            content_type,
            body: bytes,
        })
    }
}

/// rustls's *ring* provider. rustls 0.23.48 deprecates it because *ring* has no post-quantum key
/// exchange (X25519MLKEM768); its classical suites are what fetching public keys and status lists
/// needs, and it keeps aws-lc-rs (a large C build) out of the runtime.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Refuses a URL the client does not fetch: another scheme than `https`, `http` to anything but
/// a loopback address, credentials in the URL.
fn check_url(url: &Url) -> Result<(), FetchError> {
    let refuse = |why: &str| Err(FetchError(format!("`{url}` is not fetched: {why}")));
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => {
            return refuse(
                "plain http is only used for loopback addresses (127.0.0.0/8, ::1, localhost); \
                 use https",
            );
        }
        other => return refuse(&format!("only https URLs are fetched, not `{other}`")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("a URL carrying a user name or password is not sent");
    }
    Ok(())
}

/// An error and its causes, `outer: inner: …` (hyper's own message is only "client error").
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl Fetch for HttpClient {
    async fn get(&self, url: &Url, accept: &str) -> Result<Fetched, FetchError> {
        self.send(&Request::get(url, accept)).await
    }

    async fn send(&self, request: &Request<'_>) -> Result<Fetched, FetchError> {
        check_url(request.url)?;
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError(format!(
                "{} {}: no complete answer within {} s",
                request.method(),
                request.url,
                self.timeout.as_secs_f64()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against hand-written servers on 127.0.0.1 that say exactly what each test needs,
    //! including what a well-behaved server would not (endless bodies, no answer at all).
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A server that reads each request head, counts it, keeps the last one and answers with
    /// `respond` (which may write forever or nothing at all).
    struct Server {
        url: Url,
        requests: Arc<AtomicUsize>,
        last_head: Arc<std::sync::Mutex<String>>,
    }

    async fn serve<F, Fut>(respond: F) -> Server
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let last_head = Arc::new(std::sync::Mutex::new(String::new()));
        let (count, head) = (requests.clone(), last_head.clone());
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (count, head, respond) = (count.clone(), head.clone(), respond.clone());
                tokio::spawn(async move {
                    let mut read = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read.extend_from_slice(&buffer[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    *head.lock().unwrap() = String::from_utf8_lossy(&read).into_owned();
                    respond(stream).await;
                });
            }
        });
        Server {
            url,
            requests,
            last_head,
        }
    }

    fn client() -> HttpClient {
        HttpClient::new(Duration::from_millis(800), 1024).unwrap()
    }

    #[tokio::test]
    async fn fetches_with_accept_and_user_agent() {
        let server = serve(|mut stream| async move {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
                      Content-Length: 2\r\n\r\n{}",
                )
                .await;
        })
        .await;
        let url = server.url.join("/.well-known/did.json#frag").unwrap();
        let fetched = client().get(&url, "application/did+json").await.unwrap();
        assert_eq!(fetched.status, 404);
        assert_eq!(fetched.content_type.as_deref(), Some("application/json"));
        assert_eq!(fetched.body, b"{}");
        let head = server.last_head.lock().unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("get /.well-known/did.json http/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\naccept: application/did+json\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\nuser-agent: {USER_AGENT_VALUE}\r\n")),
            "{head}"
        );
    }

    /// Reads one whole request (head and `Content-Length` body) from a fresh connection.
    async fn read_request(stream: &mut TcpStream) -> String {
        let mut read = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|l| l.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if read.len() >= end + 4 + length {
                    return String::from_utf8_lossy(&read).into_owned();
                }
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&read).into_owned(),
                Ok(n) => read.extend_from_slice(&buffer[..n]),
            }
        }
    }

    #[tokio::test]
    async fn posts_a_form_and_sends_an_authorization_header() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/token", listener.local_addr().unwrap())).unwrap();
        let seen = tokio::spawn(async move {
            let mut requests = Vec::new();
            for _ in 0..2 {
                let (mut stream, _) = listener.accept().await.unwrap();
                requests.push(read_request(&mut stream).await);
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                          Content-Length: 2\r\nConnection: close\r\n\r\n{}",
                    )
                    .await;
            }
            requests
        });
        let client = client();
        let form = [("grant_type", "authorization_code"), ("code", "a b&c=d/é")];
        let fetched = client
            .send(&Request {
                url: &url,
                accept: "application/json",
                form: Some(&form),
                authorization: Some("Basic dTpw"),
            })
            .await
            .unwrap();
        assert_eq!((fetched.status, fetched.body.as_slice()), (200, &b"{}"[..]));
        let userinfo = url.join("/userinfo").unwrap();
        client
            .send(&Request {
                url: &userinfo,
                accept: "application/json, application/jwt",
                form: None,
                authorization: Some("Bearer at-1"),
            })
            .await
            .unwrap();
        let requests = seen.await.unwrap();
        let post = requests[0].to_ascii_lowercase();
        assert!(post.starts_with("post /token http/1.1\r\n"), "{post}");
        assert!(
            post.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
            "{post}"
        );
        assert!(post.contains("\r\nauthorization: basic dtpw\r\n"), "{post}");
        // The body, exactly: pairs in order, every reserved character percent-encoded.
        assert!(
            requests[0]
                .ends_with("\r\n\r\ngrant_type=authorization_code&code=a+b%26c%3Dd%2F%C3%A9"),
            "{}",
            requests[0]
        );
        let get = requests[1].to_ascii_lowercase();
        assert!(get.starts_with("get /userinfo http/1.1\r\n"), "{get}");
        assert!(get.contains("\r\nauthorization: bearer at-1\r\n"), "{get}");
        assert!(!get.contains("content-type"), "{get}");
    }

    #[tokio::test]
    async fn a_post_keeps_the_rules_and_hides_its_secrets() {
        let client = client();
        let form = [("client_secret", "s3cret")];
        let far = Url::parse("http://example.com/token").unwrap();
        let error = client
            .send(&Request {
                url: &far,
                accept: "application/json",
                form: Some(&form),
                authorization: Some("Basic c2VjcmV0"),
            })
            .await
            .unwrap_err();
        assert!(
            error.0.contains("plain http is only used for loopback"),
            "{error}"
        );
        // A header value that cannot be sent is refused without being quoted.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = Url::parse(&format!("http://{}/t", listener.local_addr().unwrap())).unwrap();
        let error = client
            .send(&Request {
                url: &local,
                accept: "application/json",
                form: Some(&form),
                authorization: Some("Bearer s3cret\n"),
            })
            .await
            .unwrap_err();
        assert_eq!(
            error.0,
            format!(
                "POST {local}: the Authorization header value has characters a header cannot hold"
            )
        );
        assert!(
            !format!(
                "{:?}",
                Request {
                    url: &local,
                    accept: "a",
                    form: Some(&form),
                    authorization: Some("Bearer s3cret"),
                }
            )
            .contains("s3cret")
        );
    }

    #[tokio::test]
    async fn refuses_plain_http_beyond_loopback_and_other_schemes() {
        let client = client();
        for (url, why) in [
            (
                "http://example.com/x",
                "plain http is only used for loopback",
            ),
            ("http://10.0.0.1/x", "plain http is only used for loopback"),
            (
                "ftp://example.com/x",
                "only https URLs are fetched, not `ftp`",
            ),
            (
                "file:///etc/passwd",
                "only https URLs are fetched, not `file`",
            ),
            ("https://user:pw@example.com/", "user name or password"),
        ] {
            let error = client
                .get(&Url::parse(url).unwrap(), "application/json")
                .await
                .unwrap_err();
            assert!(error.0.contains(why), "{url}: {error}");
            assert!(error.0.contains(url.trim_end_matches('/')), "{error}");
        }
    }

    #[tokio::test]
    async fn does_not_follow_a_redirect() {
        let elsewhere = serve(|mut stream| async move {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        })
        .await;
        let location = elsewhere.url.join("/keys").unwrap().to_string();
        let redirecting = serve(move |mut stream| {
            let answer =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
            async move {
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        })
        .await;
        let error = client()
            .get(&redirecting.url, "application/json")
            .await
            .unwrap_err();
        assert!(
            error.0.contains(&format!(
                "answered 302 redirecting to `{}keys`",
                elsewhere.url
            )),
            "{error}"
        );
        assert_eq!(redirecting.requests.load(Ordering::SeqCst), 1);
        assert_eq!(elsewhere.requests.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn stops_reading_at_the_size_cap() {
        // A chunked body that never ends: only the cap, not the deadline, can end the read.
        let endless = serve(|mut stream| async move {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("100\r\n{}\r\n", "x".repeat(256));
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
        })
        .await;
        let started = std::time::Instant::now();
        let error = client()
            .get(&endless.url, "application/json")
            .await
            .unwrap_err();
        assert!(
            error
                .0
                .contains("the answer's body is larger than the 1024 bytes accepted"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_millis(800));

        // A declared length over the cap is refused before the body is read.
        let declared = serve(|mut stream| async move {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n")
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let error = client()
            .get(&declared.url, "application/json")
            .await
            .unwrap_err();
        assert!(error.0.contains("larger than the 1024 bytes"), "{error}");

        // Exactly the cap is fine.
        let full = serve(|mut stream| async move {
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n{}",
                "y".repeat(1024)
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        })
        .await;
        let fetched = client().get(&full.url, "application/json").await.unwrap();
        assert_eq!(fetched.body.len(), 1024);
    }

    #[tokio::test]
    async fn times_out_on_a_server_that_never_answers() {
        let silent = serve(|stream| async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(stream);
        })
        .await;
        let started = std::time::Instant::now();
        let error = client()
            .get(&silent.url, "application/json")
            .await
            .unwrap_err();
        assert_eq!(
            error.0,
            format!("GET {}: no complete answer within 0.8 s", silent.url)
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(silent.requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unreachable_host_names_the_cause() {
        // A port nothing listens on (bound, then closed).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let error = client().get(&url, "application/json").await.unwrap_err();
        assert!(
            error.0.starts_with(&format!("GET {url}: no answer: ")),
            "{error}"
        );
        assert!(error.0.to_lowercase().contains("connect"), "{error}");
    }
}
