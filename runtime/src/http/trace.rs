//! What the request log shows of a request: its method, path and HTTP version, never its query
//! string or headers. Query strings carry secrets (the provider's authorization `code` and the
//! `state` at the login callback, a pushed `request_uri` at `/authorize`), and tower-http's
//! default span records the whole URI, which `RUST_LOG=debug` would write to the log. Paths carry
//! only handles an operator may see in logs (offer and presentation ids, credential type ids).

use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};

/// The request log layer: tower-http's `TraceLayer` (a span per request, its answer and
/// latency at debug, failures at error) with spans that leave the query string out.
pub fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, PathOnly> {
    TraceLayer::new_for_http().make_span_with(PathOnly)
}

/// A `debug` span `request` with `method`, `path` (the URI without its query) and `version`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PathOnly;

impl<B> MakeSpan<B> for PathOnly {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            version = ?request.version(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_has_the_path_without_the_query() {
        let request = Request::get("/login/callback?code=SECRETCODE&state=SECRETSTATE")
            .body(())
            .unwrap();
        // The span's fields, as a subscriber would record them.
        let recorded = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let subscriber = Recorder(recorded.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _span = PathOnly.make_span(&request);
        });
        let recorded = recorded.lock().unwrap().clone();
        assert!(recorded.contains("path=/login/callback"), "{recorded}");
        assert!(recorded.contains("method=GET"), "{recorded}");
        assert!(!recorded.contains("SECRET"), "{recorded}");
    }

    /// A subscriber that writes every field of every new span as `name=value`.
    struct Recorder(std::sync::Arc<std::sync::Mutex<String>>);

    impl tracing::Subscriber for Recorder {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            struct Fields<'a>(&'a mut String);
            impl tracing::field::Visit for Fields<'_> {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    self.0.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
            span.record(&mut Fields(&mut self.0.lock().unwrap()));
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, _: &tracing::Event<'_>) {}
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
}
