//! Batch issuance and lost responses (OpenID4VCI 1.0 §8.2, `batch_credential_issuance`), through
//! the router on the pre-authorised example, whose credentials have the default batch settings
//! (`size: 10`, `per_offer: 20`): several proofs in one request get one credential per key, each
//! with its own status entry, in request order; an access token asks again after a lost answer
//! with a fresh nonce; the offer stops at `per_offer`; a replayed proof or nonce is `invalid_nonce`
//! whatever else is true of the request; revoking the offer revokes every credential it yielded.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use trustc_testkit::HolderKey;

use super::{Instance, PUBLIC_URL, Reply, decode, instance, local_path, person_claims};
use super::{admin_request, status_in_list};

/// The example's batch settings (the defaults).
const SIZE: usize = 10;
const PER_OFFER: usize = 20;

/// A new Person offer redeemed up to its access token: the admin offer and the token.
async fn redeemed(instance: &Instance) -> (Value, String) {
    let offer = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&offer).await;
    (offer, token)
}

/// `count` wallet keys, alternately ES256 and EdDSA.
fn holders(count: usize) -> Vec<HolderKey> {
    (0..count)
        .map(|n| {
            if n % 2 == 0 {
                HolderKey::es256()
            } else {
                HolderKey::ed25519()
            }
        })
        .collect()
}

/// One proof per holder, all over `nonce`.
fn proofs(instance: &Instance, holders: &[HolderKey], nonce: &str) -> Vec<String> {
    holders
        .iter()
        .map(|holder| holder.proof(PUBLIC_URL, Some(nonce), instance.now()))
        .collect()
}

/// `POST /credential` for Person with these proofs.
async fn request(instance: &Instance, token: &str, proofs: &[String]) -> Reply {
    instance
        .post_json(
            "/credential",
            Some(token),
            &json!({"credential_configuration_id": "person", "proofs": {"jwt": proofs}}),
        )
        .await
}

/// A batch for `holders` over a fresh nonce, which must succeed: the credentials, in order.
async fn batch(instance: &Instance, token: &str, holders: &[HolderKey]) -> Vec<String> {
    let nonce = instance.nonce().await;
    let reply = request(instance, token, &proofs(instance, holders, &nonce)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    credentials(&reply)
}

fn credentials(reply: &Reply) -> Vec<String> {
    reply.json()["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| c["credential"].as_str().expect("a credential").to_owned())
        .collect()
}

/// The offer as the admin API shows it.
async fn admin_offer(instance: &Instance, offer: &Value) -> Value {
    let id = offer["id"].as_str().expect("an offer id");
    let reply = instance
        .send(admin_request("GET", &format!("/admin/offers/{id}")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn the_metadata_advertises_the_batch_size() {
    let instance = instance().await;
    let metadata = instance
        .get("/.well-known/openid-credential-issuer")
        .await
        .json();
    assert_eq!(
        metadata["batch_credential_issuance"],
        json!({"batch_size": SIZE})
    );
}

#[tokio::test]
async fn a_participant_advertises_the_largest_batch_of_its_own_credentials() {
    // The Law Society issues only the Lawyer credential, whose governance says `size: 4`.
    let society = Instance::start_as(
        "sqlite::memory:",
        trustc_runtime::IssuerKey::generate(),
        PUBLIC_URL,
        "lsbc-membership/lsbc",
        None,
    )
    .await;
    let metadata = society
        .get("/.well-known/openid-credential-issuer")
        .await
        .json();
    assert_eq!(
        metadata["batch_credential_issuance"],
        json!({"batch_size": 4})
    );
}

#[tokio::test]
async fn a_batch_binds_one_credential_to_each_key_with_its_own_status_index() {
    let instance = instance().await;
    let jwk = instance.issuer.key.public_jwk().clone();
    let (offer, token) = redeemed(&instance).await;
    let holders = holders(3);
    let issued = batch(&instance, &token, &holders).await;
    assert_eq!(issued.len(), 3);
    let mut indices = BTreeSet::new();
    for (credential, holder) in issued.iter().zip(&holders) {
        let decoded = decode(credential, &jwk);
        // In request order: the n-th credential is bound to the n-th proof's key.
        assert_eq!(decoded.payload["cnf"]["jwk"], holder.public_jwk());
        assert_eq!(decoded.disclosed["given_names"], "Alex Jordan");
        indices.insert(
            decoded.payload["status"]["status_list"]["idx"]
                .as_u64()
                .expect("a status index"),
        );
    }
    assert_eq!(indices.len(), 3, "each credential has its own status index");
    let view = admin_offer(&instance, &offer).await;
    assert_eq!(view["state"], "issued");
    assert_eq!(view["issued_count"], 3);
    assert_eq!(view["credentials"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn more_proofs_than_the_batch_size_are_refused_before_any_is_checked() {
    let instance = instance().await;
    let (offer, token) = redeemed(&instance).await;
    let nonce = instance.nonce().await;
    let too_many = proofs(&instance, &holders(SIZE + 1), &nonce);
    let description = request(&instance, &token, &too_many)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_credential_request");
    assert!(
        description.contains("11 key proofs") && description.contains("at most 10"),
        "{description}"
    );
    // Nothing was spent or issued: the same nonce serves a batch of the full size.
    assert_eq!(admin_offer(&instance, &offer).await["issued_count"], 0);
    let full = proofs(&instance, &holders(SIZE), &nonce);
    let reply = request(&instance, &token, &full).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(credentials(&reply).len(), SIZE);
}

#[tokio::test]
async fn two_proofs_by_one_key_are_refused() {
    let instance = instance().await;
    let (offer, token) = redeemed(&instance).await;
    let nonce = instance.nonce().await;
    let holders = holders(2);
    let first = holders[0].proof(PUBLIC_URL, Some(&nonce), instance.now());
    let other = holders[1].proof(PUBLIC_URL, Some(&nonce), instance.now());
    let again = holders[0].proof(PUBLIC_URL, Some(&nonce), instance.now() - 1);
    let description = request(&instance, &token, &[first, other, again])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    assert!(
        description.contains("proofs 1 and 3 are signed by the same key"),
        "{description}"
    );
    assert_eq!(admin_offer(&instance, &offer).await["issued_count"], 0);
}

#[tokio::test]
async fn the_proofs_of_a_batch_share_one_nonce() {
    let instance = instance().await;
    let (_, token) = redeemed(&instance).await;
    let holders = holders(2);
    let (one, two) = (instance.nonce().await, instance.nonce().await);
    let mixed = vec![
        holders[0].proof(PUBLIC_URL, Some(&one), instance.now()),
        holders[1].proof(PUBLIC_URL, Some(&two), instance.now()),
    ];
    let description = request(&instance, &token, &mixed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    assert!(description.contains("different nonces"), "{description}");
    // A proof of the batch that fails names itself.
    let unsigned_nonce = vec![
        holders[0].proof(PUBLIC_URL, Some(&one), instance.now()),
        holders[1].proof(PUBLIC_URL, None, instance.now()),
    ];
    let description = request(&instance, &token, &unsigned_nonce)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    assert!(description.starts_with("proof 2: "), "{description}");
    // Neither nonce was spent.
    let reply = request(&instance, &token, &proofs(&instance, &holders, &one)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_wallet_whose_answer_was_lost_asks_again_with_a_fresh_nonce() {
    let instance = instance().await;
    let jwk = instance.issuer.key.public_jwk().clone();
    let (offer, token) = redeemed(&instance).await;
    let holder = HolderKey::es256();
    // The first answer is lost on its way to the wallet.
    let lost = instance.fresh_proof(&holder).await;
    assert_eq!(
        instance.credential(&token, "person", &lost).await.status,
        StatusCode::OK
    );
    // Resending the same request is a replay: its nonce was spent.
    instance
        .credential(&token, "person", &lost)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    // With a fresh nonce, the same access token gets the credential.
    let retry = instance.fresh_proof(&holder).await;
    let reply = instance.credential(&token, "person", &retry).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let decoded = decode(&credentials(&reply)[0], &jwk);
    assert_eq!(decoded.payload["cnf"]["jwk"], holder.public_jwk());
    assert_eq!(admin_offer(&instance, &offer).await["issued_count"], 2);
}

#[tokio::test]
async fn an_offer_stops_at_per_offer_and_a_replay_is_still_a_replay() {
    let instance = instance().await;
    let (offer, token) = redeemed(&instance).await;
    // Two full batches reach the offer's 20.
    let first = instance.nonce().await;
    let first_proofs = proofs(&instance, &holders(SIZE), &first);
    assert_eq!(
        credentials(&request(&instance, &token, &first_proofs).await).len(),
        SIZE
    );
    // A batch larger than the room left gets the room left (OpenID4VCI lets an issuer issue
    // fewer): here 9 + 1 + 1 would be 11, so the third request gets one of its two.
    assert_eq!(batch(&instance, &token, &holders(SIZE - 1)).await.len(), 9);
    assert_eq!(batch(&instance, &token, &holders(2)).await.len(), 1);
    let view = admin_offer(&instance, &offer).await;
    assert_eq!(view["issued_count"], PER_OFFER);
    assert_eq!(
        view["credentials"].as_array().map(Vec::len),
        Some(PER_OFFER)
    );

    let nonce = instance.nonce().await;
    let description = request(&instance, &token, &proofs(&instance, &holders(1), &nonce))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "credential_request_denied");
    assert!(
        description.contains("already yielded 20 credentials"),
        "{description}"
    );
    // A replayed proof is told its nonce was spent, not that the offer is exhausted.
    request(&instance, &token, &first_proofs[..1])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    // ... and so once the offer is revoked.
    instance.revoke(&offer).await;
    request(&instance, &token, &first_proofs)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    request(&instance, &token, &proofs(&instance, &holders(1), &nonce))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "credential_request_denied");
}

#[tokio::test]
async fn revoking_an_offer_revokes_every_credential_it_yielded() {
    let instance = instance().await;
    let jwk = instance.issuer.key.public_jwk().clone();
    let (offer, token) = redeemed(&instance).await;
    let mut issued = batch(&instance, &token, &holders(3)).await;
    issued.extend(batch(&instance, &token, &holders(2)).await);
    let (_, other) = instance
        .issue("person", person_claims(), &HolderKey::ed25519())
        .await;
    let status = |credential: &str| {
        let decoded = decode(credential, &jwk);
        let entry = &decoded.payload["status"]["status_list"];
        (
            local_path(&entry["uri"]),
            entry["idx"].as_u64().expect("an index"),
        )
    };
    let entries: Vec<(String, u64)> = issued.iter().map(|c| status(c)).collect();
    for (list, idx) in &entries {
        let token = instance.get(list).await.text();
        assert_eq!(status_in_list(&token, &jwk, *idx), 0);
    }

    let revoked = instance.revoke(&offer).await;
    assert_eq!(revoked["issued_count"], 5);
    let shown = revoked["credentials"].as_array().expect("credentials");
    assert_eq!(shown.len(), 5);
    assert!(shown.iter().all(|c| c["revoked"] == true), "{revoked:#}");
    for (list, idx) in &entries {
        let token = instance.get(list).await.text();
        assert_eq!(status_in_list(&token, &jwk, *idx), 1, "index {idx}");
    }
    let (list, idx) = status(&other);
    let token = instance.get(&list).await.text();
    assert_eq!(status_in_list(&token, &jwk, idx), 0, "another offer's");
}
