//! Several instances behind a load balancer: two runtimes (each with its own connection pool)
//! share one database, on a throwaway PostgreSQL cluster and on a SQLite file. Every request of a
//! flow may land on either instance, and single-use secrets raced from both are used once.

use axum::http::StatusCode;
use trustc_runtime::IssuerKey;
use trustc_testkit::HolderKey;
use trustc_testkit::postgres as pg;

use super::{Instance, PUBLIC_URL, decode, person_claims, pre_authorized_code, status_in_list};

/// Two instances on `db`, sharing the signing key as replicas do.
async fn pair(db: &str) -> (Instance, Instance) {
    let key = IssuerKey::generate();
    let pem = key.to_pkcs8_pem();
    let first = Instance::start(db, key).await;
    let second = Instance::start(db, IssuerKey::from_pem(&pem).unwrap()).await;
    (first, second)
}

/// A flow that changes instance at every hand-over (the offer, the access token and the nonce
/// are each used on the instance that did not make them), then revocation seen by both.
async fn alternating_flow(a: &Instance, b: &Instance) {
    let holder = HolderKey::es256();
    let offer = a.offer("person", person_claims()).await;
    let resolved = b.resolve_offer(&offer).await;
    let token = b
        .token(&pre_authorized_code(&resolved), offer["tx_code"].as_str())
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let token = token.json()["access_token"].as_str().unwrap().to_string();
    let nonce = b.nonce().await;
    let proof = holder.proof(PUBLIC_URL, Some(&nonce), a.now());
    let reply = a.credential(&token, "person", &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let issued = reply.json()["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_string();
    // Either instance's published key verifies it.
    let decoded = decode(&issued, b.issuer.key.public_jwk());
    let status = &decoded.payload["status"]["status_list"];
    let idx = status["idx"].as_u64().unwrap();
    let list_path = super::local_path(&status["uri"]);

    b.revoke(&offer).await;
    for instance in [a, b] {
        let list = instance.get(&list_path).await.text();
        assert_eq!(
            status_in_list(&list, instance.issuer.key.public_jwk(), idx),
            1
        );
    }
}

/// 20 token requests for one code, half on each instance, at once: exactly one access token.
/// (Ten per instance: the most one instance lets through for one code in a minute.)
async fn race_one_code(a: &Instance, b: &Instance) {
    let offer = a.offer("person", person_claims()).await;
    let code = pre_authorized_code(&a.resolve_offer(&offer).await);
    let tx_code = offer["tx_code"].as_str().map(str::to_string);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let instance = if i % 2 == 0 { a } else { b };
        tasks.push(instance.token(&code, tx_code.as_deref()));
    }
    let replies = futures_join_all(tasks).await;
    let winners = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(winners, 1, "one pre-authorised code, one access token");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

/// One nonce raced by 16 credential requests for different offers, on both instances: one wins,
/// the others get `invalid_nonce`.
async fn race_one_nonce(a: &Instance, b: &Instance) {
    let holder = HolderKey::es256();
    let mut tokens = Vec::new();
    for _ in 0..16 {
        let offer = a.offer("person", person_claims()).await;
        tokens.push(a.access_token(&offer).await);
    }
    let proof = a.fresh_proof(&holder).await;
    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let instance = if i % 2 == 0 { a } else { b };
        tasks.push(instance.credential(token, "person", &proof));
    }
    let replies = futures_join_all(tasks).await;
    let issued = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(issued, 1, "one nonce, one credential");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    }
}

/// Runs the futures concurrently on the multi-threaded test runtime.
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<super::Reply>
where
    F: std::future::Future<Output = super::Reply>,
{
    // Scoped: the futures borrow the instances, so poll them together in this task, which
    // interleaves them at every await (database round trips), the way concurrent requests are.
    let mut set = Vec::with_capacity(futures.len());
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut results: Vec<Option<super::Reply>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if results[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(reply) => results[i] = Some(reply),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgres_database() {
    let Some(db) = pg::database("serve_two_instances") else {
        return;
    };
    let (a, b) = pair(&db).await;
    alternating_flow(&a, &b).await;
    race_one_code(&a, &b).await;
    race_one_nonce(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("issuer.db").display());
    let (a, b) = pair(&db).await;
    alternating_flow(&a, &b).await;
    race_one_code(&a, &b).await;
    race_one_nonce(&a, &b).await;
}
