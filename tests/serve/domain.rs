//! The issuer's rules without HTTP: the domain layer's typed requests, outcomes and refusals,
//! called directly on an [`Issuer`] (no router, no wire format), on the example governance and a
//! SQLite store. The protocol tests (`protocol.rs`) check the same rules as wallets see them.

use serde_json::{Value, json};
use trustc_runtime::domain::issuance::{
    CredentialRequest, IssueError, IssuedCredential, NonceProblem, TokenError,
};
use trustc_runtime::domain::offers::{
    CreatedOffer, LookupError, OfferError, OfferRequest, WalletGrant,
};
use trustc_runtime::domain::redemption::{RedeemError, TokenRequest};
use trustc_runtime::{Issuer, IssuerKey};
use trustc_testkit::HolderKey;

use super::{Instance, PUBLIC_URL, decode, instance, person_claims, status_in_list};

fn request(credential: &str, claims: Value) -> OfferRequest {
    let Value::Object(claims) = claims else {
        panic!("claims are an object")
    };
    OfferRequest {
        credential: credential.into(),
        claims,
        tx_code: None,
        grant: None,
        subject: None,
    }
}

/// The offer's pre-authorised code, as a wallet would fetch it.
async fn code_of(issuer: &Issuer, offer: &CreatedOffer) -> String {
    match issuer
        .offer_for_wallet(&offer.id, None)
        .await
        .unwrap()
        .grant
    {
        WalletGrant::PreAuthorized {
            pre_authorized_code,
            ..
        } => pre_authorized_code,
        other => panic!("a pre-authorised offer, not {other:?}"),
    }
}

/// Offers `credential`, redeems it; the access token.
async fn redeemed(issuer: &Issuer, credential: &str, claims: Value) -> (CreatedOffer, String) {
    let offer = issuer
        .create_offer(request(credential, claims))
        .await
        .unwrap();
    let code = code_of(issuer, &offer).await;
    let token = issuer
        .redeem(TokenRequest {
            pre_authorized_code: &code,
            tx_code: offer.tx_code.as_deref(),
        })
        .await
        .unwrap();
    (offer, token.access_token)
}

fn proof(issuer: &Issuer, holder: &HolderKey, nonce: &str) -> String {
    holder.proof(PUBLIC_URL, Some(nonce), issuer.clock.now())
}

/// Asks for `configuration_id` with the access token `token` and a key proof: its one
/// credential.
async fn issue(
    issuer: &Issuer,
    token: &str,
    configuration_id: &str,
    proof: &str,
) -> Result<IssuedCredential, IssueError> {
    let authorized = issuer.authorize(token).expect("the access token is valid");
    let mut issued = issuer
        .issue_credential(
            &authorized,
            CredentialRequest {
                configuration_id,
                proofs: vec![proof],
            },
        )
        .await?;
    assert_eq!(issued.len(), 1, "one credential per proof");
    Ok(issued.remove(0))
}

/// Asks for `configuration_id` with `token`, proving a holder key over a fresh nonce.
async fn issue_to(
    issuer: &Issuer,
    token: &str,
    configuration_id: &str,
    holder: &HolderKey,
) -> Result<IssuedCredential, IssueError> {
    let nonce = issuer.new_nonce();
    issue(
        issuer,
        token,
        configuration_id,
        &proof(issuer, holder, &nonce),
    )
    .await
}

#[tokio::test]
async fn an_offer_is_redeemed_once_and_issues_the_governed_credential() {
    let instance = instance().await;
    let issuer = &instance.issuer;
    let (offer, token) = redeemed(issuer, "person", person_claims()).await;
    assert!(
        offer
            .credential_offer()
            .starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F")
    );
    let holder = HolderKey::ed25519();
    assert_eq!(issuer.authorize(&token).unwrap().offer_id(), offer.id);
    let nonce = issuer.new_nonce();
    let first_proof = proof(issuer, &holder, &nonce);
    let issued = issue(issuer, &token, "person", &first_proof).await.unwrap();
    let decoded = decode(&issued.credential, issuer.key.public_jwk());
    assert_eq!(decoded.payload["cnf"]["jwk"], holder.public_jwk());
    // An instance that is no participant in particular names its public URL.
    assert_eq!(decoded.payload["iss"], PUBLIC_URL);
    // The governance's constant, filled in by the runtime.
    assert_eq!(decoded.disclosed["region"], "BC");
    assert_eq!(decoded.disclosed["given_names"], "Alex Jordan");

    // The offer is used: no longer served to wallets, issued with one status entry.
    let again = issuer.offer_for_wallet(&offer.id, None).await;
    assert!(matches!(again, Err(LookupError::NotFound)), "{again:?}");
    let status = issuer.offer_status(&offer.id).await.unwrap();
    assert_eq!((status.state, status.credentials.len()), ("issued", 1));
    // The nonce is spent: another offer's token cannot use the same proof.
    let (_, other_token) = redeemed(issuer, "person", person_claims()).await;
    let second = issue(issuer, &other_token, "person", &first_proof)
        .await
        .unwrap_err();
    assert!(
        matches!(second, IssueError::InvalidNonce(NonceProblem::Spent)),
        "{second:?}"
    );
    // The token asks again with a fresh nonce (its answer was lost): another credential, with
    // a status entry of its own.
    let again = issue_to(issuer, &token, "person", &holder).await.unwrap();
    let decoded_again = decode(&again.credential, issuer.key.public_jwk());
    assert_eq!(decoded_again.payload["cnf"]["jwk"], holder.public_jwk());
    let status = issuer.offer_status(&offer.id).await.unwrap();
    assert_eq!(
        (status.state, status.issued_count, status.credentials.len()),
        ("issued", 2, 2)
    );
}

#[tokio::test]
async fn offers_that_do_not_fit_the_governance_are_refused_with_every_reason() {
    let instance = instance().await;
    let issuer = &instance.issuer;
    let unknown = issuer
        .create_offer(request("diploma", json!({})))
        .await
        .unwrap_err();
    match &unknown {
        OfferError::UnknownCredential { credential, known } => {
            assert_eq!(credential, "diploma");
            assert_eq!(known, &["lawyer", "person"]);
        }
        other => panic!("{other:?}"),
    }
    let mut claims = person_claims();
    claims["region"] = json!("ON");
    claims["shoe_size"] = json!(44);
    claims.as_object_mut().unwrap().remove("family_name");
    let Err(OfferError::Claims { problems, .. }) =
        issuer.create_offer(request("person", claims)).await
    else {
        panic!("the claims are refused")
    };
    let mut found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.claim.as_str(), p.problem))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("family_name", "missing"),
            ("region", "fixed"),
            ("shoe_size", "unknown")
        ]
    );
    // The Person credential's governance requires a transaction code: the back end cannot waive it.
    let waived = OfferRequest {
        tx_code: Some(false),
        ..request("person", person_claims())
    };
    let refused = issuer.create_offer(waived).await.unwrap_err();
    assert!(
        matches!(refused, OfferError::TxCodeRequired { .. }),
        "{refused:?}"
    );
    let offered = issuer
        .create_offer(request("person", person_claims()))
        .await
        .unwrap();
    let code = offered.tx_code.as_deref().expect("a transaction code");
    let WalletGrant::PreAuthorized { tx_code, .. } = issuer
        .offer_for_wallet(&offered.id, None)
        .await
        .unwrap()
        .grant
    else {
        panic!("a pre-authorised offer")
    };
    let hint = tx_code.expect("the wallet is told to ask for it");
    assert_eq!((hint.input_mode, hint.length), ("numeric", code.len()));
}

#[tokio::test]
async fn redemption_refusals_are_typed_and_wrong_codes_lock_the_offer() {
    let instance = instance().await;
    let issuer = &instance.issuer;
    let offer = issuer
        .create_offer(request("person", person_claims()))
        .await
        .unwrap();
    let code = code_of(issuer, &offer).await;
    let redeem = |tx_code: Option<&'static str>| {
        let code = code.clone();
        async move {
            issuer
                .redeem(TokenRequest {
                    pre_authorized_code: &code,
                    tx_code,
                })
                .await
        }
    };
    assert!(matches!(
        redeem(None).await,
        Err(RedeemError::TxCodeMissing)
    ));
    let attempts = issuer.settings.tx_code_attempts;
    for left in (0..attempts).rev() {
        match redeem(Some("not-the-code")).await {
            Err(RedeemError::WrongTxCode { left: l, locked }) => {
                assert_eq!((l, locked), (left, left == 0));
            }
            other => panic!("{other:?}"),
        }
    }
    // Locked: even the right code no longer redeems it.
    let right = offer.tx_code.clone().unwrap();
    let locked = issuer
        .redeem(TokenRequest {
            pre_authorized_code: &code,
            tx_code: Some(&right),
        })
        .await
        .unwrap_err();
    assert!(matches!(locked, RedeemError::Locked), "{locked:?}");
    assert_eq!(
        issuer.offer_status(&offer.id).await.unwrap().state,
        "locked"
    );

    for garbage in ["", "no-dot", "unknown.code"] {
        let refused = issuer
            .redeem(TokenRequest {
                pre_authorized_code: garbage,
                tx_code: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(refused, RedeemError::UnknownCode), "{refused:?}");
    }

    // An expired offer.
    let offer = issuer
        .create_offer(request("person", person_claims()))
        .await
        .unwrap();
    let code = code_of(issuer, &offer).await;
    instance.advance(issuer.settings.offer_lifetime);
    let expired = issuer
        .redeem(TokenRequest {
            pre_authorized_code: &code,
            tx_code: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(expired, RedeemError::Expired), "{expired:?}");
    assert_eq!(
        issuer.offer_status(&offer.id).await.unwrap().state,
        "expired"
    );
}

#[tokio::test]
async fn issuance_refusals_are_typed() {
    let instance = instance().await;
    let issuer = &instance.issuer;
    let holder = HolderKey::es256();
    let (_, token) = redeemed(issuer, "person", person_claims()).await;
    let issue = |configuration_id: &'static str, proof: String| {
        let token = token.clone();
        async move { issue(issuer, &token, configuration_id, &proof).await }
    };
    let nonce = issuer.new_nonce();
    let refused = issue("diploma", proof(issuer, &holder, &nonce))
        .await
        .unwrap_err();
    assert!(matches!(refused, IssueError::UnknownConfiguration(_)));
    // Asking for the other credential of the issuer than the one offered.
    let refused = issue("lawyer", proof(issuer, &holder, &nonce))
        .await
        .unwrap_err();
    match refused {
        IssueError::OfferedForAnother { offered, requested } => {
            assert_eq!((offered.as_str(), requested.as_str()), ("person", "lawyer"))
        }
        other => panic!("{other:?}"),
    }
    // A proof for another audience, a proof without a nonce, a nonce of another issuer.
    let elsewhere = holder.proof("https://other.example", Some(&nonce), issuer.clock.now());
    match issue("person", elsewhere).await.unwrap_err() {
        IssueError::InvalidProof(why) => assert!(why.contains("`aud`"), "{why}"),
        other => panic!("{other:?}"),
    }
    let no_nonce = holder.proof(PUBLIC_URL, None, issuer.clock.now());
    match issue("person", no_nonce).await.unwrap_err() {
        IssueError::InvalidProof(why) => assert!(why.contains("no `nonce`"), "{why}"),
        other => panic!("{other:?}"),
    }
    let stranger = Instance::start("sqlite::memory:", IssuerKey::generate()).await;
    let foreign = stranger.issuer.new_nonce();
    let refused = issue("person", proof(issuer, &holder, &foreign))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        IssueError::InvalidNonce(NonceProblem::Unknown)
    ));
    // Nonces and access tokens run out. (An access token is checked once per request, when it
    // is authorised: this one was, before its time ran out.)
    let authorized = issuer.authorize(&token).unwrap();
    instance.advance(issuer.settings.nonce_lifetime + 1);
    let late = proof(issuer, &holder, &nonce);
    let refused = issuer
        .issue_credential(
            &authorized,
            CredentialRequest {
                configuration_id: "person",
                proofs: vec![&late],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        IssueError::InvalidNonce(NonceProblem::Expired)
    ));
    assert_eq!(issuer.authorize(&token).unwrap_err(), TokenError::Expired);
    assert_eq!(
        issuer.authorize("someone.else's").unwrap_err(),
        TokenError::Unknown
    );
}

#[tokio::test]
async fn revoking_an_offer_withdraws_it_and_revokes_what_it_issued() {
    let instance = instance().await;
    let issuer = &instance.issuer;
    let holder = HolderKey::ed25519();
    let (offer, token) = redeemed(issuer, "person", person_claims()).await;
    issue_to(issuer, &token, "person", &holder).await.unwrap();
    let issued = issuer.offer_status(&offer.id).await.unwrap().credentials;
    let [entry] = issued.as_slice() else {
        panic!("one credential: {issued:?}")
    };
    let list_id: i64 = entry.uri.rsplit('/').next().unwrap().parse().unwrap();
    let jwk = issuer.key.public_jwk();
    let before = issuer.status_list(list_id).await.unwrap();
    assert_eq!(status_in_list(&before.jwt, jwk, entry.idx as u64), 0);

    let revoked = issuer.revoke_offer(&offer.id).await.unwrap();
    assert_eq!(revoked.state, "revoked");
    assert!(revoked.credentials.iter().all(|c| c.revoked));
    let after = issuer.status_list(list_id).await.unwrap();
    assert_eq!(status_in_list(&after.jwt, jwk, entry.idx as u64), 1);
    assert!(matches!(
        issuer.status_list(list_id + 1).await,
        Err(LookupError::NotFound)
    ));
    assert!(matches!(
        issuer.revoke_offer("no-such-offer").await,
        Err(LookupError::NotFound)
    ));

    // A withdrawn offer cannot be redeemed, and a redeemed one cannot issue any more.
    let (offer, token) = redeemed(issuer, "person", person_claims()).await;
    issuer.revoke_offer(&offer.id).await.unwrap();
    let refused = issue_to(issuer, &token, "person", &holder)
        .await
        .unwrap_err();
    assert!(matches!(refused, IssueError::Withdrawn), "{refused:?}");
    let offer = issuer
        .create_offer(request("person", person_claims()))
        .await
        .unwrap();
    let code = code_of(issuer, &offer).await;
    issuer.revoke_offer(&offer.id).await.unwrap();
    let refused = issuer
        .redeem(TokenRequest {
            pre_authorized_code: &code,
            tx_code: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(refused, RedeemError::Withdrawn), "{refused:?}");
}
