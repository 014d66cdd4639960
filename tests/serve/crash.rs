//! Crash safety, as a holder and an operator would find it: `trustc serve` runs as a real process
//! under a few holders' loopback load (offer → token with a transaction code → nonce →
//! credential, in loops), and then
//!
//! - it is SIGKILLed mid-stream and started again on the same database (an SQLite file, a
//!   PostgreSQL database): every credential a holder received has its record and status entry, no
//!   status index was given twice, a redeemed pre-authorised code and a spent nonce are refused,
//!   a request whose answer the kill swallowed was either done whole or not at all, and the status
//!   lists the restarted issuer serves agree with its records;
//! - its PostgreSQL server is stopped (immediate shutdown, as a crash) and started again under
//!   load: meanwhile every request is answered within the request timeout, either as it would be
//!   or with a retryable 503 (`temporarily_unavailable` on the wallet's endpoints, an RFC 9457
//!   problem on the admin API, both with `Retry-After`), and once the database is back the same
//!   process issues again.
//!
//! The shapes of those 503 answers are also checked in process, on a closed store, so that they
//! are tested where PostgreSQL is not installed. Each phase of load lasts a second or two: enough
//! for requests to be in flight at the kill.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use trustc_testkit::HolderKey;
use trustc_testkit::postgres as pg;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::{ADMIN_TOKEN, FORM, Reply, decode, person_claims, pre_authorized_form, status_in_list};
use crate::common::repo;

/// How many holders run their loops at once.
const HOLDERS: usize = 4;
/// `--request-timeout` of the issuer under load.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// `--request-timeout` of the issuer whose database goes away: it waits half of it for a
/// connection, then answers 503.
const OUTAGE_REQUEST_TIMEOUT: Duration = Duration::from_secs(6);

#[test]
fn sigkill_mid_stream_loses_and_repeats_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("issuer.db").display());
    kill_and_restart(dir.path(), &db);
}

#[test]
fn sigkill_mid_stream_loses_and_repeats_nothing_on_postgres() {
    let Some(db) = pg::database("crash_sigkill") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    kill_and_restart(dir.path(), &db);
}

#[test]
fn postgres_restart_is_answered_503_then_recovered_without_restarting_the_issuer() {
    let Some(cluster) = private_cluster() else {
        return;
    };
    let db = cluster.database("crash_outage");
    let dir = tempfile::tempdir().unwrap();
    let mut server = Serve::start(dir.path(), &db, free_port(), OUTAGE_REQUEST_TIMEOUT);
    let base = server.url.clone();

    // Before the outage: an access token and a nonce to use while the database is down.
    let holder = HolderKey::es256();
    let waiting = create_offer(&base).expect("an offer before the outage");
    let token = redeem(&base, &waiting).expect("a token before the outage");
    let spare = create_offer(&base).expect("a second offer before the outage");
    let spare_code = code_of(&base, &spare).expect("the second offer's code");

    let load = Load::start(&base, Tolerance::Outage);
    thread::sleep(Duration::from_millis(1000));
    let before = load.issued();
    cluster
        .stop_server(pg::Shutdown::Immediate)
        .expect("the PostgreSQL server stops");

    // While it is down, each kind of request is answered with a retryable error, within the
    // request timeout (each waits for a connection for half of it).
    let nonce = post(&base, "/nonce", &[], None)
        .expect("POST /nonce answers")
        .json()["c_nonce"]
        .as_str()
        .expect("a nonce needs no database")
        .to_owned();
    let proof = holder.proof(&base, Some(&nonce), unix_now());
    let spare_form = pre_authorized_form(&spare_code, Some(&spare.tx_code));
    let admin = format!("Bearer {ADMIN_TOKEN}");
    thread::scope(|scope| {
        let probes = [
            scope.spawn(|| {
                let answer = post_form(&base, "/token", &spare_form);
                assert_oauth_unavailable(&answer, "POST /token");
                documented("post", "/token", &answer);
            }),
            scope.spawn(|| {
                let answer = credential(&base, &token, &proof);
                assert_oauth_unavailable(&answer, "POST /credential");
                documented("post", "/credential", &answer);
            }),
            scope.spawn(|| {
                let answer = post(
                    &base,
                    "/admin/offers",
                    &[("Authorization", &admin)],
                    Some(("application/json", offer_body())),
                );
                assert_problem_unavailable(&answer, "POST /admin/offers");
                documented("post", "/admin/offers", &answer);
            }),
            scope.spawn(|| {
                let answer = get(&base, &format!("/admin/offers/{}", waiting.id), true);
                assert_problem_unavailable(&answer, "GET /admin/offers/{id}");
                documented("get", "/admin/offers/{id}", &answer);
            }),
            scope.spawn(|| {
                let answer = get(&base, &waiting.offer_path, false);
                assert_problem_unavailable(&answer, "GET the credential offer");
                documented("get", "/credential-offers/{id}", &answer);
            }),
            scope.spawn(|| {
                let health = get(&base, "/health", false).expect("GET /health answers");
                assert_eq!(
                    health.status, 503,
                    "health while the database is down: {health:?}"
                );
                assert!(health.took < OUTAGE_REQUEST_TIMEOUT, "{:?}", health.took);
                documented("get", "/health", &Ok(health));
            }),
        ];
        for probe in probes {
            probe.join().expect("a request during the outage");
        }
    });

    cluster
        .start_server()
        .expect("the PostgreSQL server starts again");
    // The same process recovers: its pool reconnects (a broken pooled connection may cost a
    // request or two a 503 first).
    let deadline = Instant::now() + Duration::from_secs(30);
    let recovered = loop {
        let answer = credential(&base, &token, &proof);
        match answer {
            Ok(ref a) if a.status == 200 => break a.json(),
            Ok(ref a) if a.status == 503 => assert_oauth_unavailable(&answer, "after the restart"),
            other => panic!(
                "the credential request after the restart: {other:?}\n{}",
                server.log()
            ),
        }
        assert!(
            Instant::now() < deadline,
            "the issuer did not recover within 30 s of the database's restart:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(200));
    };
    assert!(recovered["credentials"][0]["credential"].is_string());
    // The code refused during the outage was not used up by it.
    let answer = post_form(&base, "/token", &spare_form).expect("POST /token answers");
    assert_eq!(
        answer.status, 200,
        "the code refused during the outage: {answer:?}"
    );
    thread::sleep(Duration::from_millis(1000));
    let report = load.stop();

    eprintln!(
        "PostgreSQL restart: {} retryable 503 answers to the holders, the slowest answer {:?}",
        report.unavailable, report.slowest
    );
    assert!(
        report.unexpected.is_empty(),
        "answers that were neither right nor a retryable 503:\n{}\n{}",
        report.unexpected.join("\n"),
        server.log()
    );
    assert!(report.unavailable > 0, "no holder request met the outage");
    assert!(
        report.slowest < OUTAGE_REQUEST_TIMEOUT,
        "an answer took {:?}, past the request timeout",
        report.slowest
    );
    assert!(
        report
            .traces
            .iter()
            .filter(|t| t.credential.is_some())
            .count()
            > before,
        "no credential was issued after the database came back"
    );
    assert!(server.running(), "the issuer exited:\n{}", server.log());
    assert!(!server.log().contains("panicked"), "{}", server.log());
    // What was issued around the outage holds together, as after a kill.
    verify_after(&base, &report.traces, &holder);
}

/// The answers of an issuer whose store is gone (here closed, as during a shutdown; a stopped
/// PostgreSQL server is answered the same, below), in process and so on every machine: 503 with
/// `Retry-After`, in the shape of each endpoint, as `runtime/openapi.json` declares them.
#[tokio::test]
async fn an_unreachable_store_is_answered_503_with_retry_after_in_each_shape() {
    let instance = super::instance().await;
    let api = super::openapi::Api::load();
    let holder = HolderKey::es256();
    let offer = instance.offer("person", person_claims()).await;
    let redeemed = instance.offer("person", person_claims()).await;
    let (_, credential) = instance.issue("person", person_claims(), &holder).await;
    let list = decode(&credential, instance.issuer.key.public_jwk()).payload["status"]
        ["status_list"]["uri"]
        .clone();
    let token = instance.access_token(&redeemed).await;
    let code = super::pre_authorized_code(&instance.resolve_offer(&offer).await);
    let proof = instance.fresh_proof(&holder).await;
    let id = offer["id"].as_str().unwrap();
    instance.issuer.close().await;

    let oauth = |reply: &Reply, what: &str| {
        let description =
            reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        assert!(description.contains("try again"), "{what}: {description}");
        assert_eq!(reply.headers["retry-after"], "5", "{what}");
    };
    let reply = instance.token(&code, offer["tx_code"].as_str()).await;
    oauth(&reply, "POST /token");
    api.check("post", "/token", &reply);
    let reply = instance.credential(&token, "person", &proof).await;
    oauth(&reply, "POST /credential");
    api.check("post", "/credential", &reply);

    let problem = |reply: &Reply, what: &str| {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {}",
            reply.text()
        );
        assert_eq!(
            reply.json()["type"],
            "urn:trustc:problem:service-unavailable",
            "{what}"
        );
        assert_eq!(reply.headers["retry-after"], "5", "{what}");
    };
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "person", "claims": person_claims()}),
        )
        .await;
    problem(&reply, "POST /admin/offers");
    api.check("post", "/admin/offers", &reply);
    let reply = instance
        .send(super::admin_request("GET", &format!("/admin/offers/{id}")))
        .await;
    problem(&reply, "GET /admin/offers/{id}");
    api.check("get", "/admin/offers/{id}", &reply);
    let reply = instance
        .send(super::admin_request(
            "POST",
            &format!("/admin/offers/{id}/revoke"),
        ))
        .await;
    problem(&reply, "POST /admin/offers/{id}/revoke");
    api.check("post", "/admin/offers/{id}/revoke", &reply);
    let reply = instance
        .get(&super::local_path(&offer["credential_offer_uri"]))
        .await;
    problem(&reply, "GET /credential-offers/{id}");
    api.check("get", "/credential-offers/{id}", &reply);
    let reply = instance.get(&super::local_path(&list)).await;
    problem(&reply, "GET /status-lists/{id}");
    api.check("get", "/status-lists/{id}", &reply);

    // The holder's page: "try again in a moment".
    let reply = instance
        .get(&super::local_path(&offer["holder_page"]))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.headers["retry-after"], "5");
    assert!(
        reply.text().contains("Try again in a moment"),
        "{}",
        reply.text()
    );
    api.check("get", "/offers/{id}", &reply);
}

/// A PostgreSQL cluster of the test's own (stopping the shared one would break the other tests)
/// that acknowledges only commits written out, `None` after a SKIPPED line when there is none.
fn private_cluster() -> Option<pg::PgCluster> {
    pg::PgCluster::start_restartable()
}

/// Runs load on a fresh issuer on `db`, SIGKILLs it, starts it again on the same database and
/// port, and checks everything the holders saw against what the restarted issuer knows.
fn kill_and_restart(dir: &Path, db: &str) {
    let port = free_port();
    let mut server = Serve::start(dir, db, port, REQUEST_TIMEOUT);
    let base = server.url.clone();
    let load = Load::start(&base, Tolerance::Kill);
    thread::sleep(Duration::from_millis(1500));
    server.kill();
    let report = load.stop();
    assert!(
        report.unexpected.is_empty(),
        "wrong answers before the kill:\n{}\n{}",
        report.unexpected.join("\n"),
        server.log()
    );
    let received = report
        .traces
        .iter()
        .filter(|t| t.credential.is_some())
        .count();
    assert!(
        received > 0,
        "no credential before the kill:\n{}",
        server.log()
    );
    let cut = |step: fn(&Trace) -> bool| report.traces.iter().filter(|t| step(t)).count();
    eprintln!(
        "{db}: {received} credentials before the kill; cut by it: {} token and {} credential \
         requests",
        cut(|t| t.code.is_some() && t.token.is_none()),
        cut(|t| t.nonce.is_some() && t.credential.is_none()),
    );

    let restarted = Serve::start(dir, db, port, REQUEST_TIMEOUT);
    verify_after(&restarted.url, &report.traces, &HolderKey::es256());
    drop(restarted);
}

/// What holds after a kill or an outage, checked on the issuer at `base`:
/// - every credential received names a status entry its offer's record has, and no two
///   credentials (nor two entries of the traced offers) share a status index;
/// - a code whose token was received is refused (`invalid_grant`); a code whose answer was lost
///   redeems at most once more;
/// - a nonce spent by a received credential is refused (`invalid_nonce`); a nonce whose answer
///   was lost is spent exactly when its offer has its credential;
/// - offers revoked now show revoked in the status lists served, the others valid.
fn verify_after(base: &str, traces: &[Trace], holder: &HolderKey) {
    let jwk = get(base, "/.well-known/jwt-vc-issuer", false)
        .expect("the issuer metadata")
        .json()["jwks"]["keys"][0]
        .clone();

    // Records and status entries.
    let mut indices: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut received = Vec::new();
    for trace in traces {
        let view = offer_view(base, &trace.offer.id);
        let entries: Vec<(String, u64)> = view["credentials"]
            .as_array()
            .expect("credentials")
            .iter()
            .map(|c| {
                (
                    c["status_list"]["uri"].as_str().unwrap().to_owned(),
                    c["status_list"]["idx"].as_u64().unwrap(),
                )
            })
            .collect();
        for entry in &entries {
            if let Some(other) = indices.insert(entry.clone(), trace.offer.id.clone()) {
                panic!(
                    "status index {entry:?} was given to offers `{other}` and `{}`",
                    trace.offer.id
                );
            }
        }
        if let Some(credential) = &trace.credential {
            let decoded = decode(credential, &jwk);
            let status = &decoded.payload["status"]["status_list"];
            let entry = (
                status["uri"].as_str().unwrap().to_owned(),
                status["idx"].as_u64().unwrap(),
            );
            assert!(
                entries.contains(&entry),
                "the credential of offer `{}` has status {entry:?}, its record {view:#}",
                trace.offer.id
            );
            assert_eq!(view["state"], "issued", "{view:#}");
            received.push((trace.offer.id.clone(), entry));
        }
    }

    // Codes: used once.
    for trace in traces {
        let Some(code) = &trace.code else { continue };
        let form = pre_authorized_form(code, Some(&trace.offer.tx_code));
        let again = post_form(base, "/token", &form);
        if trace.token.is_some() {
            assert_oauth_error(&again, 400, "invalid_grant", "a redeemed code again");
        } else if again.as_ref().is_ok_and(|a| a.status == 200) {
            // Lost before it was redeemed: it redeems now, and then never again.
            let third = post_form(base, "/token", &form);
            assert_oauth_error(
                &third,
                400,
                "invalid_grant",
                "a code redeemed after the kill",
            );
        } else {
            assert_oauth_error(&again, 400, "invalid_grant", "a code whose answer was lost");
            let state = offer_view(base, &trace.offer.id)["state"].clone();
            assert!(
                state == "redeemed" || state == "issued",
                "a code refused as redeemed, its offer {state}"
            );
        }
    }

    // Nonces: spent once, and spent exactly when the credential was recorded.
    let mut fresh: Option<String> = None;
    for trace in traces {
        let Some(nonce) = &trace.nonce else { continue };
        let token = match &fresh {
            Some(token) => token.clone(),
            None => {
                let offer = create_offer(base).expect("a fresh offer");
                redeem(base, &offer).expect("a fresh token")
            }
        };
        fresh = Some(token.clone());
        let proof = holder.proof(base, Some(nonce), unix_now());
        let answer = credential(base, &token, &proof);
        let credentials = offer_view(base, &trace.offer.id)["credentials"]
            .as_array()
            .map_or(0, Vec::len);
        if trace.credential.is_some() {
            assert_oauth_error(&answer, 400, "invalid_nonce", "a spent nonce again");
        } else if answer.as_ref().is_ok_and(|a| a.status == 200) {
            // The lost request never reached the store: its offer has no credential.
            assert_eq!(
                credentials, 0,
                "offer `{}` has a credential but its nonce was not spent",
                trace.offer.id
            );
            fresh = None;
        } else {
            assert_oauth_error(
                &answer,
                400,
                "invalid_nonce",
                "a nonce whose answer was lost",
            );
            assert_eq!(
                credentials, 1,
                "offer `{}`: its nonce was spent, its credentials {credentials}",
                trace.offer.id
            );
        }
    }

    // Status lists: every other received credential's offer revoked now.
    let mut revoked = BTreeSet::new();
    for (offer, _) in received.iter().step_by(2) {
        let answer = post(
            base,
            &format!("/admin/offers/{offer}/revoke"),
            &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
            None,
        )
        .expect("the revocation answers");
        assert_eq!(answer.status, 200, "revoking `{offer}`: {answer:?}");
        revoked.insert(offer.clone());
    }
    let mut lists: BTreeMap<String, String> = BTreeMap::new();
    for (offer, (uri, idx)) in &received {
        let list = lists.entry(uri.clone()).or_insert_with(|| {
            let path = uri
                .strip_prefix(base)
                .unwrap_or_else(|| panic!("the status list {uri} is this issuer's"));
            let answer = get(base, path, false).expect("the status list");
            assert_eq!(answer.status, 200, "{uri}: {answer:?}");
            answer.body
        });
        let expected = u8::from(revoked.contains(offer));
        assert_eq!(
            status_in_list(list, &jwk, *idx),
            expected,
            "index {idx} of {uri} (offer `{offer}`, revoked: {})",
            revoked.contains(offer)
        );
    }
}

/// An offer as the admin API made it.
#[derive(Clone, Debug)]
struct Offer {
    id: String,
    /// The path of its `credential_offer_uri`.
    offer_path: String,
    tx_code: String,
}

/// What one holder saw of one offer, step by step (`None`: that step was not reached, or its
/// answer never came).
#[derive(Debug)]
struct Trace {
    offer: Offer,
    code: Option<String>,
    token: Option<String>,
    /// The nonce of the credential request sent (its answer may not have come).
    nonce: Option<String>,
    credential: Option<String>,
}

/// What the load may meet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tolerance {
    /// The process is killed: a failed connection ends the holder's loop.
    Kill,
    /// The database goes away: a 503 (of the right shape) ends the iteration, the next begins.
    Outage,
}

/// Holders running their loops on threads until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
    shared: Arc<Mutex<Report>>,
}

#[derive(Default)]
struct Report {
    traces: Vec<Trace>,
    /// Answers that were neither right nor allowed (with what was asked).
    unexpected: Vec<String>,
    /// Retryable 503 answers met.
    unavailable: usize,
    slowest: Duration,
}

impl Load {
    fn start(base: &str, tolerance: Tolerance) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Report::default()));
        let threads = (0..HOLDERS)
            .map(|_| {
                let (base, stop, shared) = (base.to_owned(), stop.clone(), shared.clone());
                thread::spawn(move || holder_loop(&base, tolerance, &stop, &shared))
            })
            .collect();
        Load {
            stop,
            threads,
            shared,
        }
    }

    /// How many credentials were received so far.
    fn issued(&self) -> usize {
        let report = self.shared.lock().unwrap();
        report
            .traces
            .iter()
            .filter(|t| t.credential.is_some())
            .count()
    }

    fn stop(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().expect("a holder thread panicked");
        }
        Arc::try_unwrap(self.shared)
            .ok()
            .expect("the holders are done")
            .into_inner()
            .unwrap()
    }
}

/// One holder: offers, redeemed and issued one after the other until `stop`.
fn holder_loop(base: &str, tolerance: Tolerance, stop: &AtomicBool, shared: &Mutex<Report>) {
    let holder = HolderKey::es256();
    while !stop.load(Ordering::SeqCst) {
        // Each step: the answer's JSON, or why the iteration ends.
        let step = |what: &str, answer: Result<Answer, String>, ok: u16| {
            let mut report = shared.lock().unwrap();
            if let Ok(answer) = &answer {
                report.slowest = report.slowest.max(answer.took);
            }
            match answer {
                Ok(answer) if answer.status == ok => Ok(answer.json()),
                Ok(answer) if tolerance == Tolerance::Outage && retryable(&answer, what) => {
                    report.unavailable += 1;
                    Err(true)
                }
                Ok(answer) => {
                    report.unexpected.push(format!("{what}: {answer:?}"));
                    Err(false)
                }
                // The kill: the connection fails or breaks.
                Err(_) if tolerance == Tolerance::Kill => Err(false),
                Err(e) => {
                    report.unexpected.push(format!("{what}: {e}"));
                    Err(false)
                }
            }
        };
        let record = |trace: Trace| shared.lock().unwrap().traces.push(trace);

        let created = post(
            base,
            "/admin/offers",
            &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
            Some(("application/json", offer_body())),
        );
        let offer = match step("POST /admin/offers", created, 201) {
            Ok(body) => offer_of(&body),
            Err(true) => continue,
            Err(false) => return,
        };
        let mut trace = Trace {
            offer: offer.clone(),
            code: None,
            token: None,
            nonce: None,
            credential: None,
        };
        let resolved = step(
            "GET the credential offer",
            get(base, &offer.offer_path, false),
            200,
        );
        let code =
            match resolved {
                Ok(body) => body["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
                    ["pre-authorized_code"]
                    .as_str()
                    .expect("a pre-authorized code")
                    .to_owned(),
                Err(retry) => {
                    record(trace);
                    if retry { continue } else { return }
                }
            };
        trace.code = Some(code.clone());
        let form = pre_authorized_form(&code, Some(&offer.tx_code));
        let token = match step("POST /token", post_form(base, "/token", &form), 200) {
            Ok(body) => body["access_token"].as_str().unwrap().to_owned(),
            Err(retry) => {
                record(trace);
                if retry { continue } else { return }
            }
        };
        trace.token = Some(token.clone());
        let nonce = match step("POST /nonce", post(base, "/nonce", &[], None), 200) {
            Ok(body) => body["c_nonce"].as_str().unwrap().to_owned(),
            Err(retry) => {
                record(trace);
                if retry { continue } else { return }
            }
        };
        trace.nonce = Some(nonce.clone());
        let proof = holder.proof(base, Some(&nonce), unix_now());
        match step("POST /credential", credential(base, &token, &proof), 200) {
            Ok(body) => {
                trace.credential = Some(
                    body["credentials"][0]["credential"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
                record(trace);
            }
            Err(retry) => {
                record(trace);
                if !retry {
                    return;
                }
            }
        }
    }
}

/// Whether `answer` is the retryable 503 of an unavailable database, of the shape of the
/// endpoint `what` names.
fn retryable(answer: &Answer, what: &str) -> bool {
    if what.contains("/admin/") || what.contains("credential offer") {
        problem_unavailable(answer).is_ok()
    } else {
        oauth_unavailable(answer).is_ok()
    }
}

fn oauth_unavailable(answer: &Answer) -> Result<(), String> {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    if answer.status == 503
        && body["error"] == "temporarily_unavailable"
        && body["error_description"].is_string()
        && answer.retry_after().is_some_and(|s| s >= 1)
        && answer.took < OUTAGE_REQUEST_TIMEOUT
    {
        Ok(())
    } else {
        Err(format!(
            "not a retryable OAuth 503 within the request timeout ({:?}): {answer:?}",
            answer.took
        ))
    }
}

fn problem_unavailable(answer: &Answer) -> Result<(), String> {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    if answer.status == 503
        && answer.header("content-type") == Some("application/problem+json")
        && body["type"] == "urn:trustc:problem:service-unavailable"
        && body["status"] == 503
        && answer.retry_after().is_some_and(|s| s >= 1)
        && answer.took < OUTAGE_REQUEST_TIMEOUT
    {
        Ok(())
    } else {
        Err(format!(
            "not a retryable problem 503 within the request timeout ({:?}): {answer:?}",
            answer.took
        ))
    }
}

#[track_caller]
fn assert_oauth_unavailable(answer: &Result<Answer, String>, what: &str) {
    match answer {
        Ok(answer) => {
            if let Err(e) = oauth_unavailable(answer) {
                panic!("{what}: {e}");
            }
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

#[track_caller]
fn assert_problem_unavailable(answer: &Result<Answer, String>, what: &str) {
    match answer {
        Ok(answer) => {
            if let Err(e) = problem_unavailable(answer) {
                panic!("{what}: {e}");
            }
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Asserts that `runtime/openapi.json` declares `answer` for `method` `path` (as
/// `serve::openapi` checks the answers of the router).
#[track_caller]
fn documented(method: &str, path: &str, answer: &Result<Answer, String>) {
    let answer = answer.as_ref().expect("an answer");
    let mut headers = HeaderMap::new();
    for (name, value) in &answer.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let reply = Reply {
        status: StatusCode::from_u16(answer.status).unwrap(),
        headers,
        body: answer.body.clone().into(),
    };
    super::openapi::Api::load().check(method, path, &reply);
}

#[track_caller]
fn assert_oauth_error(answer: &Result<Answer, String>, status: u16, error: &str, what: &str) {
    let answer = answer
        .as_ref()
        .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    assert_eq!(
        (answer.status, body["error"].as_str()),
        (status, Some(error)),
        "{what}: {answer:?}"
    );
}

fn offer_body() -> String {
    json!({"credential": "person", "claims": person_claims(), "tx_code": true}).to_string()
}

fn offer_of(body: &Value) -> Offer {
    let uri = body["credential_offer_uri"].as_str().expect("an offer URI");
    let url = url::Url::parse(uri).expect("an absolute offer URI");
    Offer {
        id: body["id"].as_str().expect("an offer id").to_owned(),
        offer_path: match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        },
        tx_code: body["tx_code"].as_str().expect("a tx_code").to_owned(),
    }
}

fn create_offer(base: &str) -> Result<Offer, String> {
    let answer = post(
        base,
        "/admin/offers",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        Some(("application/json", offer_body())),
    )?;
    match answer.status {
        201 => Ok(offer_of(&answer.json())),
        _ => Err(format!("POST /admin/offers: {answer:?}")),
    }
}

/// The offer's pre-authorised code, from the offer its URI serves.
fn code_of(base: &str, offer: &Offer) -> Result<String, String> {
    let resolved = get(base, &offer.offer_path, false)?;
    if resolved.status != 200 {
        return Err(format!("GET {}: {resolved:?}", offer.offer_path));
    }
    Ok(
        resolved.json()["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .ok_or("no pre-authorized code")?
            .to_owned(),
    )
}

/// The offer's access token.
fn redeem(base: &str, offer: &Offer) -> Result<String, String> {
    let code = code_of(base, offer)?;
    let answer = post_form(
        base,
        "/token",
        &pre_authorized_form(&code, Some(&offer.tx_code)),
    )?;
    match answer.status {
        200 => Ok(answer.json()["access_token"].as_str().unwrap().to_owned()),
        _ => Err(format!("POST /token: {answer:?}")),
    }
}

fn offer_view(base: &str, id: &str) -> Value {
    let answer = get(base, &format!("/admin/offers/{id}"), true).expect("the admin API answers");
    assert_eq!(answer.status, 200, "GET /admin/offers/{id}: {answer:?}");
    answer.json()
}

fn credential(base: &str, token: &str, proof: &str) -> Result<Answer, String> {
    post(
        base,
        "/credential",
        &[("Authorization", &format!("Bearer {token}"))],
        Some((
            "application/json",
            json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]}})
                .to_string(),
        )),
    )
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `trustc serve` process on the pre-authorised example, its key and log in `dir`.
struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>`, also its public URL.
    url: String,
    log: PathBuf,
}

impl Serve {
    /// Starts the issuer on `db`, listening on `port`, and waits until `/health` says ok. The
    /// port is retried for a few seconds: after a kill it may take a moment to be free.
    fn start(dir: &Path, db: &str, port: u16, request_timeout: Duration) -> Serve {
        let url = format!("http://127.0.0.1:{port}");
        let governance = trustc_testkit::example::pre_authorized(&repo());
        let deadline = Instant::now() + Duration::from_secs(60);
        for attempt in 1.. {
            let log = dir.join(format!("serve-{port}-{attempt}.log"));
            let output = File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_trustc"))
                .arg("serve")
                .arg(governance)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--public-url", &url])
                .args(["--db", db])
                .arg("--key")
                .arg(dir.join("issuer-key.pem"))
                .args(["--request-timeout", &request_timeout.as_secs().to_string()])
                // Every holder of the load shares the loopback address.
                .args(["--token-rate-per-address", "0"])
                .current_dir(dir)
                .env("NO_COLOR", "1")
                .env("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN)
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(output.try_clone().unwrap())
                .stderr(output)
                .spawn()
                .expect("trustc serve starts");
            let mut serve = Serve {
                child,
                url: url.clone(),
                log,
            };
            loop {
                if let Ok(Some(status)) = serve.child.try_wait() {
                    let said = serve.log();
                    assert!(
                        said.contains("cannot listen") && Instant::now() < deadline,
                        "trustc serve exited ({status}) before answering /health:\n{said}"
                    );
                    break;
                }
                if get(&url, "/health", false)
                    .is_ok_and(|h| h.status == 200 && h.json()["status"] == "ok")
                {
                    return serve;
                }
                assert!(
                    Instant::now() < deadline,
                    "trustc serve did not answer /health within 60 s:\n{}",
                    serve.log()
                );
                thread::sleep(Duration::from_millis(50));
            }
            thread::sleep(Duration::from_millis(200));
        }
        unreachable!()
    }

    /// SIGKILL: no shutdown, no flush, requests cut mid-way.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL reaches the issuer");
        self.child.wait().expect("the killed issuer is reaped");
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_none())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        crate::common::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// An HTTP answer, with how long it took.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    took: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the answer is JSON ({e}): {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn retry_after(&self) -> Option<u64> {
        self.header("retry-after")?.parse().ok()
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {:?} {}", self.status, self.headers, self.body)
    }
}

fn get(base: &str, path: &str, admin: bool) -> Result<Answer, String> {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let headers: &[(&str, &str)] = if admin {
        &[("Authorization", &auth)]
    } else {
        &[]
    };
    exchange(base, "GET", path, headers, None)
}

fn post(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> Result<Answer, String> {
    exchange(base, "POST", path, headers, body)
}

fn post_form(base: &str, path: &str, form: &str) -> Result<Answer, String> {
    post(base, path, &[], Some((FORM, form.to_owned())))
}

/// One HTTP/1.1 exchange on a new connection; `Err` when the connection fails or breaks (as it
/// does when the server is killed) or the answer is not HTTP.
fn exchange(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> Result<Answer, String> {
    let started = Instant::now();
    let host = base.strip_prefix("http://").ok_or("not an http URL")?;
    let address: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .map_err(|e| format!("{method} {path}: cannot connect: {e}"))?;
    // Longer than the request timeout: a hang shows as a slow answer, not a client timeout.
    let patience = Some(REQUEST_TIMEOUT * 3);
    stream
        .set_read_timeout(patience)
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(patience)
        .map_err(|e| e.to_string())?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let (content_type, body) = body.unwrap_or(("", String::new()));
    if !content_type.is_empty() {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: cannot send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {path}: no answer: {e}"))?;
    let took = started.elapsed();
    let raw = String::from_utf8(raw).map_err(|e| format!("{method} {path}: {e}"))?;
    let (head, rest) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: a cut answer: {raw:?}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest).ok_or_else(|| format!("{method} {path}: a cut chunked body"))?
    } else {
        rest.to_owned()
    };
    Ok(Answer {
        status,
        headers,
        body,
        took,
    })
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}
