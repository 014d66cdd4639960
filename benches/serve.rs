//! Load benchmark of `trustc serve`: full OpenID4VCI issuances per second and request latency at
//! 64 concurrent holders, on SQLite and on PostgreSQL, beside what the cryptography alone allows
//! on the same machine in the same run.
//!
//! A full issuance is what a back end and a wallet do for one credential: `POST /admin/offers`,
//! `GET` the offer by reference, `POST /token` with the transaction code, `POST /nonce`, then
//! `POST /credential` with a fresh key proof. The release binary serves the example
//! (`trustc serve --config`) on loopback as it would in production (one process, logs at `warn`);
//! this process plays the back end and 64 holders, each on its own keep-alive connection, and
//! signs their proofs, sharing the machine's cores with the server.
//!
//! "Crypto alone" runs, on every core, what one issuance costs in signatures and nothing else: the
//! holder signs a proof, the issuer verifies it and signs the SD-JWT VC (with its disclosures).
//! It is measured in 1 s windows between the 2 s load windows of each backend (the holders
//! paused, the server idle), so that a shared host whose speed drifts during a run (seen here:
//! ±15% within minutes) moves both alike; the load's rate over it is "vs crypto".
//! "Request floor" has each holder send five `POST /nonce` per issuance instead (no store, no
//! signatures): what the five requests cost in HTTP and loopback TCP on both sides, the floor
//! under everything else. Crypto alone, the floor and the store alone together bound the ratio.
//! "Store alone" makes the store calls of one issuance (create, read the offer, redeem, issue)
//! from as many tasks as there are holders, in this process: the database's share, and on
//! SQLite its CPU time per issuance (the whole store runs in this process).
//! "CPU server+load" is the CPU time (user and system) the server process and this one spent per
//! issuance (Linux): steadier than throughput on a shared machine, and it says where time goes.
//! "The server's own share" leaves the load generator out: the cores over the server's CPU time
//! per issuance (what it would do on cores of its own) beside the issuer's cryptography alone
//! (the crypto-alone windows without the time of the holder's signature).
//!
//! Run: `cargo bench --bench serve` (both backends), `cargo bench --bench serve -- sqlite`.
//! `TRUSTC_BENCH_SECONDS` (default 10) sets the measured load time per backend (in 2 s windows),
//! after 2 s of warm-up;
//! `TRUSTC_BENCH_HOLDERS` (default 64) the concurrency; `TRUSTC_BENCH_PROOF_ALG` (`EdDSA`, the
//! default; or `ES256`) the holders' proof algorithm. PostgreSQL is a
//! private throwaway cluster (skipped with a message when the server binaries are missing).

#[allow(dead_code)]
mod support;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use support::{Settings, cores};
use trustc_runtime::IssuerKey;
use trustc_runtime::proof::{ProofPolicy, verify_proof};
use trustc_runtime::sdjwt::{Issuance, issue};
use trustc_testkit::HolderKey;
use trustc_testkit::postgres as pg;

/// The allocator `trustc serve` runs with (src/main.rs): the crypto-alone windows run here, and
/// their SD-JWT building and proof parsing allocate, so they must allocate as the server does
/// for the two to be compared.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A load window: measured load between two windows of crypto alone.
const LOAD_WINDOW: Duration = Duration::from_secs(2);
/// A window of crypto alone, the holders paused.
const CRYPTO_WINDOW: Duration = Duration::from_secs(1);

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";

fn main() {
    let settings = Settings::from_env();
    let seconds: u64 = env_number("TRUSTC_BENCH_SECONDS", 10);
    let holders: usize = env_number("TRUSTC_BENCH_HOLDERS", 64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The holders run on one thread, as an event-loop load generator does (wrk): waiting on
    // the server, they need a fraction of a core, and one thread wakes no other to share it.
    let holders_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    println!(
        "trustc serve load benchmark: {} cores, {holders} concurrent holders, {seconds} s per backend\n",
        cores()
    );
    // EdDSA by default: the cheaper proof to verify, so the larger share of non-crypto work
    // and the harder case for the "vs crypto" ratio.
    let proof_alg: &'static str = match std::env::var("TRUSTC_BENCH_PROOF_ALG").as_deref() {
        Ok("ES256") => "ES256",
        _ => "EdDSA",
    };
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| settings.selected(b))
        .collect();
    // The request floor first, then each backend whole (its store alone, then its load): the
    // PostgreSQL cluster starts only after SQLite's measurements, so its background work
    // (autovacuum after the store-alone run, its writer and checkpointer) shares the cores with
    // its own load only (measured: with the cluster up, the SQLite load cost 25–40 µs more
    // server CPU per issuance).
    if settings.selected("sqlite")
        && let Some(db) = new_database("sqlite", &settings.work, "request_floor")
    {
        let server = Server::start(&settings.work, &db);
        let floor = holders_runtime.block_on(load(
            &server,
            holders,
            Duration::from_secs(4),
            proof_alg,
            Flow::RequestFloor,
        ));
        drop(server);
        forget_database(&db);
        println!(
            "request floor (five POST /nonce per issuance: HTTP and loopback TCP alone): \
             {:.0} issuances/s, CPU server+load {}",
            floor.issuances_per_second,
            floor.cpu_column()
        );
    }
    let mut rows = Vec::new();
    for name in backends {
        let Some(db) = new_database(name, &settings.work, "store_alone") else {
            rows.push((name, None));
            continue;
        };
        let (rate, cpu) = runtime.block_on(store_alone(&db, holders, Duration::from_secs(3)));
        let cpu = match (name, cpu) {
            ("sqlite", Some(cpu)) => format!(", {:.0} µs CPU each", cpu.as_secs_f64() * 1e6),
            _ => String::new(),
        };
        forget_database(&db);
        println!("store alone ({name}, {holders} tasks): {rate:.0} issuances/s{cpu}");
        let Some(db) = new_database(name, &settings.work, "bench_issuer") else {
            rows.push((name, None));
            continue;
        };
        let server = Server::start(&settings.work, &db);
        let result = holders_runtime.block_on(load(
            &server,
            holders,
            Duration::from_secs(seconds),
            proof_alg,
            Flow::Issuance,
        ));
        drop(server);
        forget_database(&db);
        rows.push((name, Some(result)));
    }
    println!(
        "\ncrypto alone: holder {proof_alg} proof + issuer verify + ES256 SD-JWT VC on {} threads, \
         in {} s windows between the {} s load windows\n",
        cores(),
        CRYPTO_WINDOW.as_secs(),
        LOAD_WINDOW.as_secs()
    );
    println!(
        "{:<10} {:>12} {:>10} {:>10} {:>10} {:>12} {:>13} {:>10} {:>16}",
        "backend",
        "issuances/s",
        "requests/s",
        "p50",
        "p99",
        "p99 issuance",
        "crypto alone",
        "vs crypto",
        "CPU server+load"
    );
    for (name, result) in &rows {
        let Some(result) = result else {
            println!("{name:<10} SKIPPED (no PostgreSQL server binaries)");
            continue;
        };
        println!(
            "{:<10} {:>12.0} {:>10.0} {:>10} {:>10} {:>12} {:>13.0} {:>9.0}% {:>16}",
            name,
            result.issuances_per_second,
            result.requests_per_second,
            ms(result.request_p50),
            ms(result.request_p99),
            ms(result.issuance_p99),
            result.crypto_per_second,
            100.0 * result.issuances_per_second / result.crypto_per_second,
            result.cpu_column()
        );
    }
    // The load generator shares the two cores above; a server's own figures leave it out: what
    // `trustc serve` would do on two cores of its own (its CPU time per issuance), beside its
    // own cryptography alone (verifying the proof, signing the SD-JWT VC).
    let own: Vec<_> = rows
        .iter()
        .filter_map(|(name, result)| {
            let result = result.as_ref()?;
            let (server, _) = result.cpu_per_issuance?;
            Some((name, cores() as f64 / server.as_secs_f64(), result))
        })
        .collect();
    if !own.is_empty() {
        println!(
            "\nthe server's own share (its CPU time per issuance, as if the {} cores were its own; \
             its crypto: proof verification + ES256 SD-JWT VC)\n",
            cores()
        );
        println!(
            "{:<10} {:>12} {:>20} {:>10}",
            "backend", "issuances/s", "issuer crypto alone", "vs crypto"
        );
        for (name, capacity, result) in own {
            println!(
                "{:<10} {:>12.0} {:>20.0} {:>9.0}%",
                name,
                capacity,
                result.issuer_crypto_per_second,
                100.0 * capacity / result.issuer_crypto_per_second
            );
        }
    }
}

/// A new, empty database on `backend` (`sqlite` or `postgres`) for `purpose`; `None` when
/// PostgreSQL is not installed.
fn new_database(backend: &str, work: &Path, purpose: &str) -> Option<String> {
    if backend == "postgres" {
        return pg::database(purpose);
    }
    let url = format!("sqlite:{}", work.join(format!("{purpose}.db")).display());
    forget_database(&url);
    Some(url)
}

/// Removes an SQLite database once its phase is measured: the kernel writes a file's dirty pages
/// back in the background, and a large database left behind (the store-alone run writes tens of
/// thousands of issuances) would be written back during the next phase, on the same cores.
fn forget_database(url: &str) {
    if let Some(path) = url.strip_prefix("sqlite:") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

/// Issuances per second through the store alone, and (where the system says) the CPU time of
/// this process per issuance.
async fn store_alone(url: &str, tasks: usize, duration: Duration) -> (f64, Option<Duration>) {
    let store = trustc_runtime::Store::connect(url)
        .await
        .expect("the store opens");
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    let mut running = Vec::new();
    for _ in 0..tasks {
        let (store, stop, measuring, issued) = (
            store.clone(),
            stop.clone(),
            measuring.clone(),
            issued.clone(),
        );
        running.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                store_issuance(&store).await;
                if measuring.load(Ordering::Relaxed) {
                    issued.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::SeqCst);
    let (started, cpu_before) = (Instant::now(), own_cpu());
    tokio::time::sleep(duration).await;
    measuring.store(false, Ordering::SeqCst);
    let (elapsed, cpu_after) = (started.elapsed(), own_cpu());
    let count = issued.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for task in running {
        task.await.expect("a store task");
    }
    store.close().await;
    let cpu = cpu_before
        .zip(cpu_after)
        .filter(|_| count > 0)
        .map(|(before, after)| (after - before) / count as u32);
    (count as f64 / elapsed.as_secs_f64(), cpu)
}

/// The store calls `trustc serve` makes for one issuance, with the ids and secrets it makes.
async fn store_issuance(store: &trustc_runtime::Store) {
    use trustc_runtime::secrets::{new_offer_id, offer_secret, random_token};
    use trustc_runtime::store::{Issue, Issued, NewOffer, Redeem, Redemption};
    let now = 1_800_000_000;
    let id = new_offer_id();
    let code = offer_secret(&id);
    store
        .create_offer(&NewOffer {
            id: id.clone(),
            pre_authorized_code: code.clone(),
            tx_code: Some("493536".into()),
            credential: "person".into(),
            claims: PERSON_CLAIMS.into(),
            created_at: now,
            expires_at: now + 600,
            needs_presentation: false,
            needs_login: false,
            subject: None,
            logged_in: None,
        })
        .await
        .expect("an offer is stored");
    assert!(store.offer(&id).await.expect("an offer is read").is_some());
    let token = offer_secret(&id);
    let redeemed = store
        .redeem(&Redeem {
            code: &code,
            tx_code: Some("493536"),
            access_token: &token,
            token_expires_at: now + 300,
            now,
            tx_code_attempts: 5,
        })
        .await
        .expect("a code is redeemed");
    assert!(matches!(redeemed, Redemption::Redeemed { .. }));
    let issued = store
        .issue(&Issue {
            offer_id: &id,
            credential: "person",
            now,
            nonce: &random_token(),
            nonce_expires_at: now + 300,
            count: 1,
            per_offer: 20,
            revocable: true,
            list_id: 1,
            list_size: 1 << 17,
        })
        .await
        .expect("an offer is issued");
    assert!(matches!(
        issued,
        Issued::Issued { count: 1, ref statuses, .. } if statuses.len() == 1
    ));
}

/// The claims of the example's Person credential, as the store keeps them.
const PERSON_CLAIMS: &str = r#"{"given_names":"Alex Jordan","family_name":"Tremblay","birthdate":"1990-04-17","locality":"Victoria","region":"BC","issue_date":"2026-01-15","expiry_date":"2031-01-15"}"#;

/// CPU time (user + system) this process used so far.
fn own_cpu() -> Option<Duration> {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let timeval = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Some(timeval(usage.ru_utime) + timeval(usage.ru_stime))
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The release `trustc serve` on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(work: &Path, db: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let url = format!("http://{addr}");
        let out = work.join(format!("bench-build-{port}"));
        let built = Command::new(env!("CARGO_BIN_EXE_trustc"))
            .args(["build", "--out"])
            .arg(&out)
            .args(["--issuer-url", &url])
            // The example with its Person credential offered by the back end (it is issued
            // after a login in the shipped example).
            .arg(trustc_testkit::example::pre_authorized(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            ))
            .stderr(Stdio::null())
            .status()
            .expect("trustc build runs");
        assert!(built.success(), "the example builds");
        let child = Command::new(env!("CARGO_BIN_EXE_trustc"))
            .arg("serve")
            .arg("--config")
            .arg(&out)
            .args(["--listen", &addr.to_string(), "--db", db, "--key"])
            .arg(work.join("bench-issuer-key.pem"))
            // Every holder is on loopback: the limit per client address would count them as one.
            .args(["--token-rate-per-address", "0"])
            .env("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("trustc serve starts");
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "trustc serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct LoadResult {
    issuances_per_second: f64,
    requests_per_second: f64,
    request_p50: Duration,
    request_p99: Duration,
    issuance_p99: Duration,
    /// Issuances per second that the cryptography alone allowed, in the windows between (NaN for
    /// the request floor, which has none).
    crypto_per_second: f64,
    /// The same for the issuer's own cryptography (verifying the proof, signing the SD-JWT VC),
    /// without the holder's signature.
    issuer_crypto_per_second: f64,
    /// CPU time per issuance of the server process and of this one (the load generator), where
    /// the system says (Linux).
    cpu_per_issuance: Option<(Duration, Duration)>,
}

impl LoadResult {
    /// "CPU server+load": `523+108 µs`, or `-` where the system does not say.
    fn cpu_column(&self) -> String {
        self.cpu_per_issuance.map_or("-".into(), |(server, load)| {
            format!(
                "{:.0}+{:.0} µs",
                server.as_secs_f64() * 1e6,
                load.as_secs_f64() * 1e6
            )
        })
    }
}

/// CPU time (user + system) used so far by the server and by this process.
fn cpu_times(server: &Server) -> Option<(Duration, Duration)> {
    // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the `(comm)`.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if per_second <= 0 {
        return None;
    }
    Some((
        Duration::from_secs_f64(ticks as f64 / per_second as f64),
        own_cpu()?,
    ))
}

/// What each holder does in a loop.
#[derive(Clone, Copy)]
enum Flow {
    /// Full issuances.
    Issuance,
    /// Five `POST /nonce` per "issuance": the five requests' HTTP and loopback cost and nothing
    /// else (the nonce endpoint touches no store and signs nothing), the floor under the rest.
    RequestFloor,
}

/// Runs `holders` concurrent holders doing `flow` for 2 s of warm-up and then `duration` in
/// load windows; for full issuances, each window follows a window of crypto alone.
async fn load(
    server: &Server,
    holders: usize,
    duration: Duration,
    proof_alg: &'static str,
    flow: Flow,
) -> LoadResult {
    let addr = server.addr;
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    // Holders pause at the start of an issuance while `paused` is true; `idle` counts them.
    let (pause, paused) = tokio::sync::watch::channel(false);
    let idle = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..holders {
        let (measuring, stop, issued) = (measuring.clone(), stop.clone(), issued.clone());
        let (mut paused, idle) = (paused.clone(), idle.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let holder = holder_key(proof_alg);
            let mut requests = Vec::new();
            let mut issuances = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if *paused.borrow() {
                    idle.fetch_add(1, Ordering::SeqCst);
                    let _ = paused.wait_for(|paused| !paused).await;
                    idle.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
                let started = Instant::now();
                let timings = match flow {
                    Flow::Issuance => client.full_issuance(&holder).await,
                    Flow::RequestFloor => client.request_floor().await,
                };
                if measuring.load(Ordering::Relaxed) {
                    issued.fetch_add(1, Ordering::Relaxed);
                    requests.extend(timings);
                    issuances.push(started.elapsed());
                }
            }
            (requests, issuances)
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Load windows alternate with windows of crypto alone (the holders paused, the server
    // idle), so that a shared host whose speed drifts during the run drifts both alike.
    let windows = (duration.as_secs_f64() / LOAD_WINDOW.as_secs_f64())
        .ceil()
        .max(1.0) as u32;
    let (mut elapsed, mut cpu) = (Duration::ZERO, Some((Duration::ZERO, Duration::ZERO)));
    let mut crypto = CryptoWindow::default();
    for _ in 0..windows {
        // The request floor is not compared with the crypto: no windows of it there.
        if matches!(flow, Flow::Issuance) {
            let _ = pause.send(true);
            while idle.load(Ordering::SeqCst) < holders as u64 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            crypto.add(crypto_alone(CRYPTO_WINDOW, proof_alg));
            let _ = pause.send(false);
            // Back to full load before measuring: every holder is on its way again.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        measuring.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let cpu_before = cpu_times(server);
        tokio::time::sleep(LOAD_WINDOW).await;
        measuring.store(false, Ordering::SeqCst);
        let cpu_after = cpu_times(server);
        elapsed += started.elapsed();
        cpu = cpu.zip(cpu_before.zip(cpu_after)).map(
            |((server, load), ((server_before, load_before), (server_after, load_after)))| {
                (
                    server + (server_after - server_before),
                    load + (load_after - load_before),
                )
            },
        );
    }
    let count = issued.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let _ = pause.send(false);
    let mut requests = Vec::new();
    let mut issuances = Vec::new();
    for task in tasks {
        let (r, i) = task.await.expect("a holder task");
        requests.extend(r);
        issuances.extend(i);
    }
    requests.sort_unstable();
    issuances.sort_unstable();
    let percentile = |sorted: &[Duration], p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    LoadResult {
        issuances_per_second: count as f64 / elapsed.as_secs_f64(),
        requests_per_second: requests.len() as f64 / elapsed.as_secs_f64(),
        request_p50: percentile(&requests, 0.50),
        request_p99: percentile(&requests, 0.99),
        issuance_p99: percentile(&issuances, 0.99),
        crypto_per_second: crypto.count as f64 / crypto.time.as_secs_f64(),
        issuer_crypto_per_second: crypto.count as f64 / crypto.issuer_time.as_secs_f64(),
        cpu_per_issuance: cpu
            .filter(|_| count > 0)
            .map(|(server, load)| (server / count as u32, load / count as u32)),
    }
}

/// One keep-alive HTTP/1.1 connection, playing both the back end and a holder.
///
/// A load generator must cost the shared cores as little as it can, so this is a minimal
/// HTTP/1.1 client in the manner of wrk: the request is written in one call and the response
/// read on the same task (no connection task, no channel between the two); responses are parsed
/// with `httparse` (hyper's parser) and must have a `Content-Length`, as every `trustc serve`
/// answer has.
struct Client {
    stream: tokio::net::TcpStream,
    base: String,
    /// Bytes read from the connection and not yet used.
    buffer: Vec<u8>,
    /// The body of `POST /admin/offers`, the same for every issuance.
    offer_request: String,
}

#[derive(serde::Deserialize)]
struct CreatedOffer {
    credential_offer_uri: String,
    tx_code: Option<String>,
}

#[derive(serde::Deserialize)]
struct ResolvedOffer {
    grants: Grants,
}

#[derive(serde::Deserialize)]
struct Grants {
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pre_authorized: PreAuthorizedGrant,
}

#[derive(serde::Deserialize)]
struct PreAuthorizedGrant {
    #[serde(rename = "pre-authorized_code")]
    code: String,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(serde::Deserialize)]
struct NonceResponse {
    c_nonce: String,
}

#[derive(serde::Deserialize)]
struct CredentialResponse<'a> {
    #[serde(borrow)]
    credentials: [IssuedCredential<'a>; 1],
}

#[derive(serde::Deserialize)]
struct IssuedCredential<'a> {
    #[serde(borrow)]
    credential: &'a str,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Client {
            stream,
            base: format!("http://{addr}"),
            buffer: Vec::with_capacity(8192),
            offer_request: json!({"credential": "person", "claims": {
                "given_names": "Alex Jordan", "family_name": "Tremblay",
                "birthdate": "1990-04-17", "locality": "Victoria",
                "issue_date": "2026-01-15", "expiry_date": "2031-01-15"}})
            .to_string(),
        }
    }

    /// Sends a request and reads its response: the body, after checking the status is 2xx; and
    /// how long it took.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timings: &mut Vec<Duration>,
    ) -> Vec<u8> {
        use std::io::Write;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut request = Vec::with_capacity(256 + body.len());
        let host = &self.base["http://".len()..];
        let _ = write!(
            request,
            "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        let started = Instant::now();
        self.stream
            .write_all(&request)
            .await
            .expect("the request is sent");
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response
                .parse(&self.buffer)
                .unwrap_or_else(|e| panic!("{method} {path}: not an HTTP response: {e}"))
            {
                let length: usize = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                    .unwrap_or_else(|| panic!("{method} {path}: no Content-Length"));
                if self.buffer.len() >= head + length {
                    let status = response.code.unwrap_or(0);
                    let body = self.buffer[head..head + length].to_vec();
                    self.buffer.drain(..head + length);
                    timings.push(started.elapsed());
                    assert!(
                        (200..300).contains(&status),
                        "{method} {path}: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                    return body;
                }
            }
            let read = self
                .stream
                .read_buf(&mut self.buffer)
                .await
                .expect("the response is read");
            assert!(
                read > 0,
                "{method} {path}: the server closed the connection"
            );
        }
    }

    /// Five `POST /nonce`; the latency of each.
    async fn request_floor(&mut self) -> Vec<Duration> {
        let mut timings = Vec::with_capacity(5);
        for _ in 0..5 {
            let body = self.send("POST", "/nonce", &[], b"", &mut timings).await;
            let nonce: NonceResponse = serde_json::from_slice(&body).expect("a nonce");
            assert!(!nonce.c_nonce.is_empty());
        }
        timings
    }

    /// One full issuance; the latency of each of its requests.
    async fn full_issuance(&mut self, holder: &HolderKey) -> Vec<Duration> {
        let mut timings = Vec::with_capacity(5);
        let admin = format!("Bearer {ADMIN_TOKEN}");
        let offer_request = std::mem::take(&mut self.offer_request);
        let body = self
            .send(
                "POST",
                "/admin/offers",
                &[
                    ("authorization", &admin),
                    ("content-type", "application/json"),
                ],
                offer_request.as_bytes(),
                &mut timings,
            )
            .await;
        self.offer_request = offer_request;
        let offer: CreatedOffer = serde_json::from_slice(&body).expect("an offer");
        let offer_path = offer
            .credential_offer_uri
            .strip_prefix(&self.base)
            .expect("the offer is served here")
            .to_owned();
        let body = self.send("GET", &offer_path, &[], b"", &mut timings).await;
        let resolved: ResolvedOffer = serde_json::from_slice(&body).expect("a credential offer");
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={}&tx_code={}",
            resolved.grants.pre_authorized.code,
            offer
                .tx_code
                .as_deref()
                .expect("the offer has a transaction code")
        );
        let body = self
            .send(
                "POST",
                "/token",
                &[("content-type", "application/x-www-form-urlencoded")],
                form.as_bytes(),
                &mut timings,
            )
            .await;
        let token: TokenResponse = serde_json::from_slice(&body).expect("an access token");
        let body = self.send("POST", "/nonce", &[], b"", &mut timings).await;
        let nonce: NonceResponse = serde_json::from_slice(&body).expect("a nonce");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let proof = holder.proof(&self.base, Some(&nonce.c_nonce), now);
        let bearer = format!("Bearer {}", token.access_token);
        // A JWT needs no escaping in a JSON string.
        let request =
            format!(r#"{{"credential_configuration_id":"person","proofs":{{"jwt":["{proof}"]}}}}"#);
        let body = self
            .send(
                "POST",
                "/credential",
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                request.as_bytes(),
                &mut timings,
            )
            .await;
        let issued: CredentialResponse = serde_json::from_slice(&body).expect("a credential");
        assert!(issued.credentials[0].credential.ends_with('~'));
        timings
    }
}

/// A holder key for proofs with `alg`.
fn holder_key(alg: &str) -> HolderKey {
    if alg == "EdDSA" {
        HolderKey::ed25519()
    } else {
        HolderKey::es256()
    }
}

/// Windows of crypto alone, added up: issuances, and the mean time of a thread in them, in all
/// and in the issuer's part (verifying the proof and signing the SD-JWT VC).
#[derive(Default, Clone, Copy)]
struct CryptoWindow {
    count: u64,
    time: Duration,
    issuer_time: Duration,
}

impl CryptoWindow {
    fn add(&mut self, other: CryptoWindow) {
        self.count += other.count;
        self.time += other.time;
        self.issuer_time += other.issuer_time;
    }
}

/// Issuances that the signatures alone allow on every core in `duration`: holder proof,
/// issuer proof verification, issuer SD-JWT VC (ES256, seven disclosures as for Person).
fn crypto_alone(duration: Duration, proof_alg: &'static str) -> CryptoWindow {
    let key = Arc::new(IssuerKey::generate());
    let threads: Vec<_> = (0..cores())
        .map(|_| {
            let key = key.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let holder = holder_key(proof_alg);
                let claims: Map<String, Value> = serde_json::from_value(json!({
                    "given_names": "Alex Jordan", "family_name": "Tremblay",
                    "birthdate": "1990-04-17", "locality": "Victoria", "region": "BC",
                    "issue_date": "2026-01-15", "expiry_date": "2031-01-15"}))
                .unwrap();
                let disclosable: Vec<String> = claims.keys().cloned().collect();
                let algorithms = ["ES256", "EdDSA"];
                let started = Instant::now();
                let mut count = 0u64;
                let mut holder_time = Duration::ZERO;
                while started.elapsed() < duration {
                    let signing = Instant::now();
                    let proof = holder.proof("http://127.0.0.1:8080", Some("nonce"), 1_800_000_000);
                    holder_time += signing.elapsed();
                    let verified = verify_proof(
                        &proof,
                        &ProofPolicy {
                            audience: "http://127.0.0.1:8080",
                            algorithms: &algorithms,
                            now: 1_800_000_000,
                            max_age: 300,
                            max_skew: 60,
                        },
                    )
                    .expect("the proof verifies");
                    let issued = runtime.block_on(issue(
                        &key,
                        &Issuance {
                            issuer: "http://127.0.0.1:8080",
                            kid: key.kid(),
                            vct: "https://credentials.gov.bc.example/person/v1",
                            iat: 1_800_000_000,
                            exp: Some(1_900_000_000),
                            claims: &claims,
                            disclosable: &disclosable,
                            holder_jwk: &verified.holder_jwk,
                            status: Some((42, "http://127.0.0.1:8080/status-lists/1")),
                        },
                    ));
                    assert!(issued.is_ok());
                    count += 1;
                }
                let time = started.elapsed();
                (count, time, time.saturating_sub(holder_time))
            })
        })
        .collect();
    // Issuances per second on all cores = the sum of each thread's count over its time: the
    // total count over the mean time.
    let results: Vec<(u64, Duration, Duration)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();
    let threads = results.len().max(1) as u32;
    CryptoWindow {
        count: results.iter().map(|(n, _, _)| n).sum(),
        time: results.iter().map(|(_, t, _)| *t).sum::<Duration>() / threads,
        issuer_time: results.iter().map(|(_, _, t)| *t).sum::<Duration>() / threads,
    }
}
