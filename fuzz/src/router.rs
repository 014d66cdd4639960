//! The whole issuer in process, for the `router` fuzz target and for the replay of its
//! regressions (`tests/fuzz_regressions.rs` includes this file): the shipped example compiled
//! once per process, two issuers on in-memory SQLite (the shipped example, whose credentials
//! are issued after a login, and its pre-authorised variant), and one request per run through
//! the axum router with `tower::ServiceExt::oneshot`, as a wallet, a browser or the back end
//! reaches it. Nothing leaves the process: the login providers and the verifier fetch nothing.
//!
//! An input is read as: byte 0 picks the issuer (bit 0) and the method (bits 1–3); byte 1 the
//! path from [`PATHS`]; the rest is text: its first line is appended to the path (more path,
//! a query), the lines up to an empty line are headers (`Name: value`), what follows is the
//! body. Placeholders in the path, headers and body are replaced by live values, so requests
//! get past the first check: `{code}` a pre-authorised code and `{tx}` its transaction code,
//! `{offer}` that offer's id, `{token}` an access token, `{nonce}` a fresh `c_nonce`, `{proof}`
//! a key proof with a fresh nonce, `{dpop}` a DPoP proof for `POST /credential` with `{token}`,
//! `{admin}` the admin token.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use trustc::build::{BuildOptions, Profile, build};
use trustc_runtime::{Clock, Compiled, Issuer, IssuerKey, Settings, Store};
use trustc_testkit::HolderKey;

/// The public URL of both issuers.
pub const PUBLIC_URL: &str = "https://issuer.example";
/// Their admin token.
pub const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789abcdef";

/// The paths an input picks from (byte 1), every route of the router and a few that are none.
pub const PATHS: &[&str] = &[
    "/token",
    "/nonce",
    "/credential",
    "/credential-offers/{offer}",
    "/credential-offers/",
    "/status-lists/",
    "/authorize-challenge",
    "/presentations/",
    "/offers/{offer}",
    "/offers/",
    "/par",
    "/authorize",
    "/login/callback",
    "/login/retry",
    "/login/jwks",
    "/credentials/person",
    "/credentials/lawyer",
    "/credentials/",
    "/health",
    "/openapi.json",
    "/admin/offers",
    "/admin/offers/{offer}",
    "/admin/offers/{offer}/revoke",
    "/.well-known/openid-credential-issuer",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwt-vc-issuer",
    "/.well-known/did.json",
    "/",
];

const METHODS: [&str; 8] = [
    "GET", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS",
];

/// How many times an offer's code and access token are handed out before a new offer is made
/// (so the store stays small however long the fuzzer runs).
const USES_PER_OFFER: u32 = 50;

/// An offer of the pre-authorised issuer, redeemed once for `token`, with a second code of
/// another offer left to redeem.
struct Live {
    code: String,
    tx: String,
    offer: String,
    token: String,
    uses: u32,
}

/// The issuers and what drives them.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    shipped: Router,
    pre_authorized: Router,
    issuer: Arc<Issuer>,
    clock: Arc<std::sync::atomic::AtomicI64>,
    holder: HolderKey,
    live: Mutex<Option<Live>>,
}

/// The harness of this process, made on first use from the repository at `repo`.
pub fn harness(repo: &Path) -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| Harness::new(repo))
}

fn compiled(repository: &Path) -> Compiled {
    let options = BuildOptions {
        check: Default::default(),
        environment: trustc_artifact::Environment::Dev,
        profile: Profile::V1,
        credential_issuer: PUBLIC_URL.to_owned(),
    };
    let outputs = build(repository, &options)
        .expect("the example builds")
        .outputs;
    Compiled::from_files(
        |path| {
            outputs
                .iter()
                .find(|o| o.path == path)
                .map(|o| o.bytes.clone())
                .ok_or_else(|| trustc_runtime::compiled::LoadError(path.to_owned()))
        },
        PUBLIC_URL,
    )
    .expect("the compiled example loads")
}

impl Harness {
    fn new(repo: &Path) -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (clock, hand) = Clock::manual();
        let (shipped, issuer) = runtime.block_on(async {
            let offline: Arc<dyn trustc_runtime::domain::fetch::Fetch> =
                Arc::new(trustc_runtime::domain::fetch::Offline);
            let shipped = {
                let compiled = compiled(repo);
                let key = IssuerKey::generate();
                let login = trustc_runtime::domain::login::provider::Providers::new(
                    &compiled.config,
                    |_| Ok("fuzz-client-secret".to_owned()),
                    trustc_runtime::jwe::session_key(
                        &key.derive_secret("login encryption"),
                        "login",
                    ),
                    offline,
                )
                .expect("the login providers");
                let issuer = Issuer::with_login(
                    compiled,
                    Store::connect("sqlite::memory:").await.expect("a store"),
                    key,
                    settings(),
                    clock.clone(),
                    trustc_runtime::domain::presentation::offline_verifier(),
                    Some(login),
                );
                trustc_runtime::router(issuer)
            };
            let issuer = Issuer::with_login(
                compiled(trustc_testkit::example::pre_authorized(repo)),
                Store::connect("sqlite::memory:").await.expect("a store"),
                IssuerKey::generate(),
                settings(),
                clock,
                trustc_runtime::domain::presentation::offline_verifier(),
                None,
            );
            (shipped, issuer)
        });
        Harness {
            runtime,
            shipped,
            pre_authorized: trustc_runtime::router(issuer.clone()),
            issuer,
            clock: hand,
            holder: HolderKey::es256(),
            live: Mutex::new(None),
        }
    }

    /// Sends the request `data` describes; `Some(status)` when it could be made into one.
    pub fn run(&self, data: &[u8]) -> Option<u16> {
        let [selector, path_index, rest @ ..] = data else {
            return None;
        };
        let text = String::from_utf8_lossy(rest);
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let (head, body) = rest.split_once("\n\n").unwrap_or((rest, ""));
        let method = METHODS[usize::from(selector >> 1) % METHODS.len()];
        let path = format!(
            "{}{}",
            PATHS[usize::from(*path_index) % PATHS.len()],
            first.trim_end_matches('\r')
        );
        let app = if selector & 1 == 0 {
            &self.shipped
        } else {
            &self.pre_authorized
        };
        self.runtime.block_on(async {
            let path = self.fill(&path).await;
            let mut request = Request::builder().method(method).uri(path);
            for line in head.lines() {
                if let Some((name, value)) = line.split_once(':') {
                    request = request.header(name.trim(), self.fill(value.trim()).await);
                }
            }
            let request = request.body(Body::from(self.fill(body).await)).ok()?;
            let response = app.clone().oneshot(request).await.ok()?;
            let status = response.status().as_u16();
            // The answer is read whole, as a client would.
            let _ = response.into_body().collect().await;
            Some(status)
        })
    }

    /// `text` with its placeholders replaced.
    async fn fill(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        if out.contains("{code}")
            || out.contains("{tx}")
            || out.contains("{offer}")
            || out.contains("{token}")
            || out.contains("{dpop}")
        {
            let (code, tx, offer, token) = self.live().await;
            out = out
                .replace("{code}", &code)
                .replace("{tx}", &tx)
                .replace("{offer}", &offer);
            if out.contains("{dpop}") {
                let now = self.clock.load(Ordering::SeqCst);
                let url = format!("{PUBLIC_URL}/credential");
                let proof = self.holder.dpop_proof("POST", &url, Some(&token), now);
                out = out.replace("{dpop}", &proof);
            }
            out = out.replace("{token}", &token);
        }
        while out.contains("{nonce}") {
            out = out.replacen("{nonce}", &self.issuer.new_nonce(), 1);
        }
        while out.contains("{proof}") {
            let now = self.clock.load(Ordering::SeqCst);
            let proof = self
                .holder
                .proof(PUBLIC_URL, Some(&self.issuer.new_nonce()), now);
            out = out.replacen("{proof}", &proof, 1);
        }
        out.replace("{admin}", ADMIN_TOKEN)
    }

    /// The live offer's code, transaction code, id and access token; a new offer every
    /// [`USES_PER_OFFER`] uses.
    async fn live(&self) -> (String, String, String, String) {
        let stale = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            match live.as_mut() {
                Some(live) if live.uses < USES_PER_OFFER => {
                    live.uses += 1;
                    false
                }
                _ => true,
            }
        };
        if stale {
            let fresh = self.new_live().await;
            *self.live.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        }
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        match live.as_ref() {
            Some(l) => (
                l.code.clone(),
                l.tx.clone(),
                l.offer.clone(),
                l.token.clone(),
            ),
            None => Default::default(),
        }
    }

    /// Two offers of the Person credential: one redeemed for an access token, the other's code
    /// left for the input to redeem.
    async fn new_live(&self) -> Option<Live> {
        let (_, _, token) = self.offer_and_code(true).await?;
        let (offer, (code, tx), _) = self.offer_and_code(false).await?;
        Some(Live {
            code,
            tx,
            offer,
            token,
            uses: 0,
        })
    }

    async fn offer_and_code(&self, redeem: bool) -> Option<(String, (String, String), String)> {
        let claims = json!({
            "given_names": "Alex Jordan", "family_name": "Tremblay", "birthdate": "1990-04-17",
            "locality": "Victoria", "issue_date": "2026-01-15", "expiry_date": "2031-01-15"
        });
        let created = self
            .json(
                Request::post("/admin/offers")
                    .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"credential": "person", "claims": claims}).to_string(),
                    ))
                    .ok()?,
            )
            .await?;
        let id = created["id"].as_str()?.to_owned();
        let tx = created["tx_code"].as_str().unwrap_or_default().to_owned();
        let uri = url::Url::parse(created["credential_offer_uri"].as_str()?).ok()?;
        let resolved = self
            .json(Request::get(uri.path()).body(Body::empty()).ok()?)
            .await?;
        let code = resolved["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()?
            .to_owned();
        let mut token = String::new();
        if redeem {
            let form = format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code\
                 &pre-authorized_code={code}&tx_code={tx}"
            );
            let answer = self
                .json(
                    Request::post("/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(form))
                        .ok()?,
                )
                .await?;
            token = answer["access_token"].as_str()?.to_owned();
        }
        Some((id, (code, tx), token))
    }

    async fn json(&self, request: Request<Body>) -> Option<Value> {
        let response = self.pre_authorized.clone().oneshot(request).await.ok()?;
        let body = response.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice(&body).ok()
    }
}

fn settings() -> Settings {
    let mut settings = Settings::new(PUBLIC_URL);
    settings.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings
}
