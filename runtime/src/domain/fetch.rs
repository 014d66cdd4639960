//! The one way the rules reach another server: [`Fetch`], a plain GET of a document, or a
//! [`Request`] with a form body and an `Authorization` header.
//!
//! The verifier of presentations needs a trusted issuer's keys and status lists, which live on
//! that issuer's web origin; the relying party of a login ([`super::login`]) fetches an OpenID
//! Provider's discovery document and keys, posts the code to its token endpoint and asks its
//! userinfo endpoint with the access token. The rules decide *what* may be fetched
//! ([`super::trust`], the compiled login providers); how bytes cross the network is the wire's
//! business (`http::client::HttpClient`, with its scheme rules, timeout and size cap). This port
//! names no HTTP library type, so the rules are tested with a real local server or any stand-in.

use async_trait::async_trait;
use url::{Host, Url};

/// A GET of one URL. Implementations follow no redirect (a 3xx is an error), bound the time of
/// the whole exchange and the size of the body, and only fetch `https` (or `http` to a loopback
/// address, [`is_loopback`]).
#[async_trait]
pub trait Fetch: Send + Sync {
    /// GETs `url` with `Accept: accept`. Any HTTP status is returned as [`Fetched`] (the caller
    /// decides what a 404 means), except a redirection, which is a [`FetchError`].
    async fn get(&self, url: &Url, accept: &str) -> Result<Fetched, FetchError>;

    /// Sends `request`: a POST of its form when it has one, otherwise a GET, with its
    /// `Authorization` header when it has one; the same rules as [`Fetch::get`]. Errors never
    /// quote the form or the `Authorization` value (they carry secrets).
    ///
    /// The default sends a plain request (no form, no `Authorization`) through [`Fetch::get`] and
    /// refuses anything else, for fetchers that only ever serve documents.
    async fn send(&self, request: &Request<'_>) -> Result<Fetched, FetchError> {
        if request.form.is_none() && request.authorization.is_none() {
            return self.get(request.url, request.accept).await;
        }
        Err(FetchError(format!(
            "{} {}: this fetcher only fetches documents (no form, no Authorization header)",
            request.method(),
            request.url
        )))
    }
}

/// A request other than a plain GET of a document.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a Url,
    /// The `Accept` header.
    pub accept: &'a str,
    /// `Some(pairs)`: a POST whose body is these pairs, `application/x-www-form-urlencoded`, in
    /// this order; `None`: a GET.
    pub form: Option<&'a [(&'a str, &'a str)]>,
    /// The whole `Authorization` header value (`Basic …`, `Bearer …`).
    pub authorization: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A plain GET of `url` with `Accept: accept`: what [`Fetch::get`] sends, for the fetchers
    /// that implement [`Fetch::send`].
    pub fn get(url: &'a Url, accept: &'a str) -> Request<'a> {
        Request {
            url,
            accept,
            form: None,
            authorization: None,
        }
    }

    /// `POST` when the request has a form, `GET` otherwise.
    pub fn method(&self) -> &'static str {
        if self.form.is_some() { "POST" } else { "GET" }
    }
}

/// Neither the form nor the `Authorization` header is shown: both carry secrets.
impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("url", &self.url.as_str())
            .field("accept", &self.accept)
            .field("form", &self.form.map(|pairs| pairs.len()))
            .field("authorization", &self.authorization.map(|_| "(hidden)"))
            .finish()
    }
}

/// An answer, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// The `Content-Type` header, when there was one (and it was text).
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why nothing usable came back: what failed and why, naming the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// Whether `url`'s host is a loopback address (127.0.0.0/8, `::1`) or `localhost`: the only hosts
/// plain `http` may reach, because traffic to them never leaves the machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://127.8.9.10/",
            "http://[::1]:1/",
            "http://localhost/",
            "http://LOCALHOST:9/",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://128.0.0.1/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://localhost.example/",
            "http://example.com/",
            "http://0.0.0.0/",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }
}

/// A fetcher that fetches nothing: the verifier of a runtime started without outbound HTTP
/// (tests of the rules that never verify a presentation) says so instead of reaching out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

#[async_trait]
impl Fetch for Offline {
    async fn get(&self, url: &Url, _accept: &str) -> Result<Fetched, FetchError> {
        Err(FetchError(format!(
            "cannot fetch `{url}`: this issuer was started without outbound HTTP"
        )))
    }
}
