//! `trustc serve`: runs the issuer runtime (crate `trustc-runtime`) on the governance of a
//! repository, compiled on start, or on the output folder of an earlier `trustc build`.
//!
//! Compiled only with the `serve` feature (on by default), so CI users who only check and build
//! can leave the runtime's HTTP and database dependencies out (`--no-default-features`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use trustc_runtime::domain::presentation::{ClientIdPrefix, ResponseMode, Verifier};
use trustc_runtime::domain::trust::Trust;
use trustc_runtime::http::client::HttpClient;
use trustc_runtime::x509::CertificateChain;
use trustc_runtime::{Clock, Compiled, Issuer, IssuerKey, Settings, Store};

use crate::build::{BuildOptions, Profile, build};
use crate::check::Report;
use crate::diag::Severity;
use crate::exit::{EXIT_ERROR, EXIT_FAILED, EXIT_OK};
use crate::formats::check_issuer_url;

/// Where offers, nonces and statuses are kept when `--db` is not given (working directory).
const DEFAULT_DATABASE: &str = "sqlite:trustc-issuer.db";
/// Where the issuer's signing key is kept when `--key` is not given (working directory).
const DEFAULT_KEY: &str = "trustc-issuer-key.pem";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The governance repository to compile on start (ignored with `--config`).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Serve an earlier `trustc build` output folder instead of compiling the governance.
    #[arg(long, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// The environment whose identifiers a compile on start selects.
    #[arg(long = "env", value_name = "ENV", default_value = "dev")]
    pub environment: trustc_artifact::Environment,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The credential issuer identifier wallets see (https, or http on loopback); defaults to
    /// `http://<listen address>`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Where state is kept: `sqlite:FILE` (created on first start) or `postgres://…` for several
    /// instances sharing one database.
    #[arg(long, value_name = "URL", default_value = DEFAULT_DATABASE)]
    pub db: String,
    /// The issuer's P-256 signing key (PEM); generated there on first start and kept.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_KEY)]
    pub key: PathBuf,
    /// How long an offer can be redeemed, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub offer_lifetime: i64,
    /// How long a connection may sit idle between requests, or take to send a request's head,
    /// before it is closed, in seconds. Behind a load balancer or reverse proxy, keep it longer
    /// than the proxy's own idle timeout (60 s for AWS load balancers and nginx by default), so
    /// that the proxy never sends a request on a connection that is being closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 75, value_parser = timeout_seconds)]
    pub idle_timeout: u64,
    /// How long a request may take from its head to its answer, reading its body included, in
    /// seconds; then it is answered 408 with a problem body. A client that trickles its body
    /// cannot hold a request open for ever.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = timeout_seconds)]
    pub request_timeout: u64,
    /// The participant (`<framework>/<participant>`) this issuer is: it serves only the
    /// credential types that participant may issue, signed under its identifiers.
    #[arg(long, value_name = "ID")]
    pub participant: Option<String>,
    /// Fetch the documents of a governance identifier's host from a loopback address instead
    /// (`dev.credentials.gov.bc.example=http://127.0.0.1:8081`), for development and tests. Trust
    /// is still decided on the identifier. Refused with `--env prod`.
    #[arg(long, value_name = "HOST=URL")]
    pub resolve: Vec<trustc_runtime::domain::trust::ResolveOverride>,
    /// Sign holders in with a login provider at a loopback address instead of the issuer URL the
    /// governance gives it (`bc-services-card=http://127.0.0.1:8700`), for development and
    /// tests with a local OpenID Provider. Refused with `--env prod`.
    #[arg(long, value_name = "PROVIDER=URL")]
    pub login_issuer: Vec<trustc_runtime::domain::login::LoginIssuerOverride>,
    /// The certificate chain (PEM, leaf first) of the issuer key that signs OpenID4VP requests;
    /// a self-signed one for the public URL's host is generated there on first start. Default:
    /// beside the key, named after it (`trustc-issuer-key.pem` → `trustc-issuer-certificate.pem`).
    #[arg(long, value_name = "FILE")]
    pub verifier_certificate: Option<PathBuf>,
    /// How the verifier names itself to wallets: `x509_san_dns`, `x509_hash`, or `redirect_uri`
    /// (unsigned requests, `--dev` only).
    #[arg(long, value_name = "PREFIX", default_value = "x509_san_dns")]
    pub client_id_prefix: ClientIdPrefix,
    /// How wallets send presentations: `direct_post.jwt` (encrypted to the request) or
    /// `direct_post`.
    #[arg(long, value_name = "MODE", default_value = "direct_post.jwt")]
    pub response_mode: ResponseMode,
    /// Token requests one client address may make per minute; more are answered 429 with
    /// `Retry-After`. 0 turns the limit off (a load test from one address).
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub token_rate_per_address: u32,
    /// Failed admin API authentications one client address may make per minute; then it is
    /// answered 429, whatever token it sends, until the minute ends. 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub admin_failure_rate: u32,
    /// The request header whose last value is the client's address, as the operator's reverse
    /// proxy sets it (`X-Forwarded-For`, `X-Real-IP`); without it, the limits per client address
    /// count TCP peers, and behind a proxy every client shares the proxy's address. Give it only
    /// when a proxy that sets the header is the only way in: clients can send it too.
    #[arg(long, value_name = "NAME", value_parser = header_name)]
    pub client_address_header: Option<String>,
    /// A file of admin tokens, one per line (blank lines and `#` comments ignored), that the
    /// admin API accepts besides `TRUSTC_ADMIN_TOKEN`. Only its owner may read it (`chmod 600`).
    /// It is read again when it changes (within a second): a token added is accepted at once,
    /// a token removed stays accepted for `--admin-token-grace`, so tokens rotate without a
    /// restart.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// How long a token removed from `--admin-token-file` stays accepted, in seconds (0: refused
    /// as soon as the change is read).
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = grace_seconds)]
    pub admin_token_grace: u64,
    /// Development mode: the admin API may run without `TRUSTC_ADMIN_TOKEN` or
    /// `--admin-token-file`.
    #[arg(long)]
    pub dev: bool,
    /// Log lines as JSON objects (one per line) instead of text.
    #[arg(long)]
    pub log_json: bool,
}

/// Where the verifier's certificate is kept when `--verifier-certificate` is not given: beside
/// the key, named after it without a `-key` suffix (`keys/province-key.pem` →
/// `keys/province-certificate.pem`), so that a key and its certificate go together.
fn certificate_beside(key: &std::path::Path) -> PathBuf {
    let stem = key
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem.strip_suffix("-key").unwrap_or(&stem);
    key.with_file_name(format!("{stem}-certificate.pem"))
}

/// The host of a URL (`http://localhost:8080/x` → `localhost`).
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
        None => authority.split(':').next().unwrap_or_default().to_owned(),
    }
}

/// `--idle-timeout` and `--request-timeout`: whole seconds, at least one, at most a day (a timer
/// beyond that is no limit, and far enough out it would not fit in the clock).
fn timeout_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(seconds @ 1..=86_400) => Ok(seconds),
        _ => Err("must be a whole number of seconds from 1 to 86400".into()),
    }
}

/// `--client-address-header`: an HTTP header name.
fn header_name(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("must be an HTTP header name, such as X-Forwarded-For".into())
    }
}

/// `--admin-token-grace`: whole seconds from zero to a day.
fn grace_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(seconds @ 0..=86_400) => Ok(seconds),
        _ => Err("must be a whole number of seconds from 0 to 86400".into()),
    }
}

/// Runs `trustc serve` and returns the exit status.
pub fn run(args: ServeArgs) -> u8 {
    init_logging(args.log_json);
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen))
        .trim_end_matches('/')
        .to_string();
    if let Err(message) = check_issuer_url(&public_url, "--public-url") {
        return fail(message);
    }
    if args.offer_lifetime <= 0 {
        return fail("--offer-lifetime must be a positive number of seconds");
    }
    let admin_token = std::env::var("TRUSTC_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let admin_token_file = match &args.admin_token_file {
        None => None,
        Some(path) => match trustc_runtime::admin_tokens::AdminTokenFile::open(
            path,
            args.admin_token_grace as i64,
            Clock::System.now(),
        ) {
            Ok(file) => Some(Arc::new(file)),
            Err(error) => return fail(error),
        },
    };
    match (&admin_token, &admin_token_file, args.dev) {
        (None, None, false) => {
            return fail(
                "refusing to start without an admin token: set TRUSTC_ADMIN_TOKEN to a long \
                 random secret, or give --admin-token-file (the issuer back end sends one as a \
                 bearer token), or pass --dev to run with the admin API open on a development \
                 machine",
            );
        }
        (None, None, true) => {
            tracing::warn!("--dev without TRUSTC_ADMIN_TOKEN: the admin API is open")
        }
        (Some(token), _, _)
            if token.chars().count() < trustc_runtime::admin_tokens::MIN_TOKEN_LENGTH =>
        {
            return fail("TRUSTC_ADMIN_TOKEN is too short: use at least 16 random characters");
        }
        (Some(_), Some(file), _) => tracing::warn!(
            file = %file.path().display(),
            "TRUSTC_ADMIN_TOKEN is accepted besides the admin token file until a restart: \
             unset it to rotate every admin token through the file"
        ),
        _ => {}
    }

    let compiled = match &args.config {
        Some(dir) => Compiled::from_dir(dir, &public_url).map_err(|e| (EXIT_ERROR, e.to_string())),
        None => compile(&args, &public_url),
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err((status, message)) => {
            refuse(&message);
            return status;
        }
    };
    let mut compiled = match &args.participant {
        Some(participant) => match compiled.for_participant(participant) {
            Ok(compiled) => compiled,
            Err(error) => return fail(error),
        },
        None => compiled,
    };
    if !args.login_issuer.is_empty() {
        if compiled.config.environment == trustc_artifact::Environment::Prod {
            return fail(
                "--login-issuer is for development and tests: a production issuer signs holders \
                 in with the providers the governance names",
            );
        }
        if let Err(error) = trustc_runtime::domain::login::LoginIssuerOverride::apply(
            &args.login_issuer,
            &mut compiled.config,
        ) {
            return fail(error);
        }
    }
    if !args.resolve.is_empty() && compiled.config.environment == trustc_artifact::Environment::Prod
    {
        return fail(
            "--resolve is for development and tests: a production issuer fetches a governance \
             identifier's documents from the identifier's own host",
        );
    }
    if args.client_id_prefix == ClientIdPrefix::RedirectUri && !args.dev {
        return fail(
            "--client-id-prefix redirect_uri sends unsigned presentation requests (the wallet \
             cannot authenticate the verifier): only with --dev",
        );
    }
    // The login providers a served credential signs in with (one the governance declares for
    // credentials this instance does not serve needs no secret here), and their secrets, read
    // now: a missing one stops the start before anything is written.
    let used_providers: Vec<String> = compiled
        .credential_ids()
        .into_iter()
        .filter_map(|id| compiled.credential(id))
        .filter_map(|c| c.kind.authentication.login.as_ref())
        .map(|login| login.provider.clone())
        .collect();
    let login_config = (!used_providers.is_empty()).then(|| {
        let mut used = compiled.config.clone();
        used.login_providers
            .retain(|p| used_providers.contains(&p.id));
        used
    });
    let mut secrets: Vec<(trustc_artifact::SecretSource, String)> = Vec::new();
    for provider in login_config.iter().flat_map(|c| &c.login_providers) {
        if let Some(source) = &provider.secret {
            match trustc_runtime::domain::login::provider::read_secret(source) {
                Ok(value) => secrets.push((source.clone(), value)),
                Err(error) => {
                    return fail(format!(
                        "login provider `{}`: {error} (the governance reads its client secret \
                         there; docs/login.md#secrets)",
                        provider.id
                    ));
                }
            }
        }
    }
    let (key, created) = match IssuerKey::load_or_generate(&args.key) {
        Ok(key) => key,
        Err(error) => return fail(error),
    };
    if created {
        tracing::info!(path = %args.key.display(), kid = key.kid(), "generated the issuer signing key");
    }
    let host = url_host(&public_url);
    let certificate_path = args
        .verifier_certificate
        .clone()
        .unwrap_or_else(|| certificate_beside(&args.key));
    let certificate = match CertificateChain::load_or_create(
        &certificate_path,
        &key,
        &host,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    ) {
        Ok((chain, created)) => {
            if created {
                tracing::info!(path = %certificate_path.display(), dns = %host, "generated a self-signed verifier certificate");
            }
            chain
        }
        Err(error) => return fail(error),
    };
    if !certificate.certifies(&key) {
        return fail(format!(
            "the certificate in `{}` is not for the issuer key in `{}`: the verifier signs its \
             requests with the issuer key",
            certificate_path.display(),
            args.key.display()
        ));
    }
    if args.client_id_prefix == ClientIdPrefix::X509SanDns
        && !certificate.dns_names().contains(&host)
    {
        return fail(format!(
            "--client-id-prefix x509_san_dns: the certificate in `{}` names {:?}, not the public \
             URL's host `{host}` (wallets require them to match)",
            certificate_path.display(),
            certificate.dns_names()
        ));
    }
    let mut settings = Settings::new(&public_url);
    settings.participant = args.participant.clone();
    settings.admin_token = admin_token;
    settings.admin_token_file = admin_token_file;
    settings.offer_lifetime = args.offer_lifetime;
    settings.header_read_timeout = std::time::Duration::from_secs(args.idle_timeout);
    settings.request_timeout = std::time::Duration::from_secs(args.request_timeout);
    settings.limits.token_per_address =
        trustc_runtime::limits::Rate::per_minute(args.token_rate_per_address);
    settings.limits.admin_failures_per_address =
        trustc_runtime::limits::Rate::per_minute(args.admin_failure_rate);
    settings.limits.client_address_header = args.client_address_header.clone();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    runtime.block_on(async move {
        // A statement waits for a PostgreSQL connection at most half the request timeout: an
        // outage is answered 503 with Retry-After, never a request timeout.
        let acquire_timeout = (std::time::Duration::from_secs(args.request_timeout) / 2)
            .min(trustc_runtime::store::DEFAULT_ACQUIRE_TIMEOUT);
        let store = match Store::connect_with(&args.db, acquire_timeout).await {
            Ok(store) => store,
            Err(error) => return fail(error),
        };
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(listener) => listener,
            Err(error) => return fail(format!("cannot listen on {}: {error}", args.listen)),
        };
        let credentials = compiled.credential_ids().join(", ");
        let client = match HttpClient::with_defaults() {
            Ok(client) => client,
            Err(error) => {
                return fail(format!(
                    "cannot make the verifier's HTTP client: {}",
                    error.0
                ));
            }
        };
        let client: Arc<HttpClient> = Arc::new(client);
        let login = match login_config {
            None => None,
            Some(used) => {
                let encryption = trustc_runtime::jwe::session_key(
                    &key.derive_secret("login encryption"),
                    "login",
                );
                let secret = |source: &trustc_artifact::SecretSource| {
                    secrets
                        .iter()
                        .find(|(s, _)| s == source)
                        .map(|(_, value)| value.clone())
                        .ok_or_else(|| "the secret was not read at start".to_owned())
                };
                match trustc_runtime::domain::login::provider::Providers::new(
                    &used,
                    secret,
                    encryption,
                    client.clone(),
                ) {
                    Ok(providers) => {
                        // Discovery now, so that a provider the issuer cannot use shows in the
                        // log at start rather than at the first person's sign-in; a login tries
                        // again by itself.
                        for id in providers.ids() {
                            match providers.discover(id).await {
                                Ok(()) => tracing::info!(provider = id, "login provider found"),
                                Err(error) => tracing::warn!(
                                    %error,
                                    "the login provider could not be discovered at start; \
                                     logins will try again"
                                ),
                            }
                        }
                        Some(providers)
                    }
                    Err(error) => return fail(error),
                }
            }
        };
        let verifier = Verifier {
            trust: Trust::new(client, args.resolve.clone(), 300),
            certificate: Some(certificate),
            prefix: args.client_id_prefix,
            response_mode: args.response_mode,
        };
        let issuer = Issuer::with_login(
            compiled,
            store,
            key,
            settings,
            Clock::System,
            verifier,
            login,
        );
        for id in issuer.compiled.credential_ids() {
            let identity = issuer.identity(id);
            if identity.named_by_governance {
                tracing::info!(credential = id, iss = %identity.iss, "issuing as");
            } else if args.participant.is_none() {
                tracing::info!(
                    credential = id,
                    iss = %identity.iss,
                    "issuing as the public URL: start with --participant to sign as a \
                     participant's identifier in the governance, which verifiers trust"
                );
            } else {
                tracing::warn!(
                    credential = id,
                    iss = %identity.iss,
                    "the governance names no identifier of this issuer that is the public URL or \
                     a did:web: its credentials name the public URL, which verifiers following \
                     the governance will not trust"
                );
            }
        }
        // The address bound, which says the port when `--listen` asked for any (`:0`).
        let listening = listener.local_addr().unwrap_or(args.listen);
        tracing::info!(
            listen = %listening,
            public_url = %public_url,
            credentials = %credentials,
            configuration = %issuer.compiled.config.content_hash,
            "trustc serve is ready"
        );
        trustc_runtime::serve(listener, issuer).await;
        EXIT_OK
    })
}

/// Compiles the governance for the public URL, printing its diagnostics like `trustc build`.
/// Fails with exit status 1 when the governance has errors, 2 when it cannot be read.
fn compile(args: &ServeArgs, public_url: &str) -> Result<Compiled, (u8, String)> {
    let options = BuildOptions {
        check: Default::default(),
        environment: args.environment,
        profile: Profile::V1,
        credential_issuer: public_url.to_string(),
    };
    let outcome = build(&args.path, &options).map_err(|e| (EXIT_ERROR, e.to_string()))?;
    print_report(&outcome.report);
    if outcome.outputs.is_empty() {
        return Err((
            EXIT_FAILED,
            format!(
                "cannot serve `{}`: fix the errors above first",
                args.path.display()
            ),
        ));
    }
    let outputs = Arc::new(outcome.outputs);
    Compiled::from_files(
        |path| {
            outputs
                .iter()
                .find(|o| o.path == path)
                .map(|o| o.bytes.clone())
                .ok_or_else(|| {
                    trustc_runtime::compiled::LoadError(format!("the build wrote no `{path}`"))
                })
        },
        public_url,
    )
    .map_err(|e| (EXIT_ERROR, e.to_string()))
}

/// Whether stderr carries JSON lines only (`--log-json`): then what the command says before and
/// besides its logs (the governance's diagnostics, why it will not start) is log events too, so
/// that a log collector reading JSON lines gets nothing else.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// The report of the compile on start: as `trustc build` prints it, or with `--log-json` one
/// event per diagnostic (code, file, line, column, help) and one for the summary.
fn print_report(report: &Report) {
    if !JSON_LOGS.load(Ordering::Relaxed) {
        crate::report::print_human(report);
        return;
    }
    for diagnostic in &report.diagnostics {
        let (line, column) = diagnostic.line_column();
        let file = diagnostic.file.as_ref().map(|f| f.to_string());
        let code = diagnostic.code.name();
        let help = diagnostic.help.as_deref();
        let message = &diagnostic.message;
        match diagnostic.severity {
            Severity::Error => tracing::error!(code, file, line, column, help, "{message}"),
            Severity::Warning => tracing::warn!(code, file, line, column, help, "{message}"),
            Severity::Advice => tracing::info!(code, file, line, column, help, "{message}"),
        }
    }
    let summary = &report.summary;
    tracing::info!(
        errors = summary.errors,
        warnings = summary.warnings,
        files = summary.files,
        "checked the governance"
    );
}

/// Says why `trustc serve` stops before serving: `error: …`, or an error event with `--log-json`.
fn refuse(message: &str) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::error!("{message}");
    } else {
        eprintln!("error: {message}");
    }
}

/// Whether a command line that clap refused is `trustc serve … --log-json`: its usage error is
/// then a JSON log event too, like every other reason `trustc serve` gives for not starting.
pub(crate) fn wants_json_logs(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let mut args = args.into_iter().skip(1);
    args.any(|arg| arg == "serve") && args.any(|arg| arg == "--log-json")
}

/// Reports a usage error of `trustc serve --log-json` as one error event and returns the exit
/// status 2: what clap would print, its first line (without `error: `) as the message and the
/// rest (tips, usage) as `help`, as the diagnostics' events have it.
pub(crate) fn refuse_usage(error: &clap::Error) -> u8 {
    init_logging(true);
    let rendered = error.render().to_string();
    let rendered = rendered.trim().trim_start_matches("error: ");
    let (message, help) = rendered.split_once('\n').unwrap_or((rendered, ""));
    tracing::error!(kind = %error.kind(), help = help.trim(), "{message}");
    EXIT_ERROR
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    JSON_LOGS.store(json, Ordering::Relaxed);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        );
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn fail(message: impl std::fmt::Display) -> u8 {
    refuse(&message.to_string());
    EXIT_ERROR
}
