//! The store on every backend: an SQLite file, SQLite in memory and PostgreSQL (a throwaway
//! server; skipped with a message when PostgreSQL is not installed, unless
//! TRUSTC_REQUIRE_POSTGRES=1). Race tests run two `Store`s (two instances) on one database.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tokio::sync::Barrier;
use trustc_runtime::store::{
    Advance, Authorization, AuthorizationAdvance, AuthorizationKind, AuthorizationRequest,
    AuthorizationState, Backend, Issue, Issued, LoginAudit, NewOffer, OfferState,
    PendingPresentations, Presentation, PresentationState, RecordLogin, Redeem, Redemption,
    StatusEntry, Store, Verification,
};
use trustc_testkit::{SqliteFile, postgres};

const T0: i64 = 1_700_000_000;

fn new_offer(id: &str, tx_code: Option<&str>, now: i64, expires_at: i64) -> NewOffer {
    NewOffer {
        id: id.to_owned(),
        pre_authorized_code: format!("{id}.code"),
        tx_code: tx_code.map(str::to_owned),
        credential: "membership_card".to_owned(),
        claims: format!(r#"{{"given_name":"Ada","member_id":"{id}","nested":{{"é":[1,2]}}}}"#),
        created_at: now,
        expires_at,
        needs_presentation: false,
        needs_login: false,
        subject: None,
        logged_in: None,
    }
}

async fn connect(url: &str) -> Store {
    Store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Redeems `code` at `now` with `tx_code`, handing out `token` valid until `token_expires_at`;
/// offers lock after 3 wrong transaction codes.
async fn redeem(
    store: &Store,
    code: &str,
    tx_code: Option<&str>,
    token: &str,
    token_expires_at: i64,
    now: i64,
) -> Redemption {
    store
        .redeem(&Redeem {
            code,
            tx_code,
            access_token: token,
            token_expires_at,
            now,
            tx_code_attempts: 3,
        })
        .await
        .unwrap()
}

/// `Redeemed` for offer `id` of the test credential.
fn redeemed_as(id: &str) -> Redemption {
    Redemption::Redeemed {
        offer_id: id.to_owned(),
        credential: "membership_card".to_owned(),
    }
}

/// Issues offer `id` at `now` with `nonce` (valid for a minute), a status entry from list 1 of
/// 4096 when `revocable`.
async fn issue(store: &Store, id: &str, now: i64, nonce: &str, revocable: bool) -> Issued {
    issue_in(store, id, now, nonce, revocable, 1, 4096).await
}

async fn issue_in(
    store: &Store,
    id: &str,
    now: i64,
    nonce: &str,
    revocable: bool,
    list_id: i64,
    list_size: i64,
) -> Issued {
    store
        .issue(&Issue {
            revocable,
            list_id,
            list_size,
            ..issuance(id, now, nonce)
        })
        .await
        .unwrap()
}

/// The issuance of offer `id` (of the test credential) at `now` with `nonce`, valid for a
/// minute: one credential, of at most one per offer; revocable, a status entry from list 1 of
/// 4096.
fn issuance<'a>(id: &'a str, now: i64, nonce: &'a str) -> Issue<'a> {
    Issue {
        offer_id: id,
        credential: "membership_card",
        now,
        nonce,
        nonce_expires_at: now + 60,
        count: 1,
        per_offer: 1,
        revocable: true,
        list_id: 1,
        list_size: 4096,
    }
}

/// Creates, redeems (token `<id>.token`) and issues an offer (nonce `nonce-<id>`); its status
/// entry.
async fn issue_one(store: &Store, id: &str, list_id: i64, list_size: i64) -> StatusEntry {
    redeemed(store, id).await;
    match issue_in(
        store,
        id,
        T0 + 1,
        &format!("nonce-{id}"),
        true,
        list_id,
        list_size,
    )
    .await
    {
        Issued::Issued { statuses, .. } if statuses.len() == 1 => statuses[0],
        other => panic!("offer {id}: {other:?}"),
    }
}

/// One test per backend for each scenario `async fn name(store: Store)`.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_file() {
                let db = SqliteFile::new(stringify!($scenario));
                let store = connect(&db.url).await;
                assert_eq!(store.backend(), Backend::Sqlite);
                super::$scenario(store.clone()).await;
                store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_memory() {
                let store = connect("sqlite::memory:").await;
                assert_eq!(store.backend(), Backend::Sqlite);
                super::$scenario(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(url) = postgres::database(stringify!($scenario)) else {
                    return;
                };
                let store = connect(&url).await;
                assert_eq!(store.backend(), Backend::Postgres);
                super::$scenario(store.clone()).await;
                store.close().await;
            }
        }
    )*};
}

/// One test per shared-database backend for each race `async fn name(a: Store, b: Store)`: two
/// `Store`s (two instances of the issuer) on the same database.
macro_rules! on_two_instances {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_file() {
                let db = SqliteFile::new(stringify!($scenario));
                let a = connect(&db.url).await;
                let b = connect(&db.url).await;
                super::$scenario(a.clone(), b.clone()).await;
                a.close().await;
                b.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(url) = postgres::database(stringify!($scenario)) else {
                    return;
                };
                let a = connect(&url).await;
                let b = connect(&url).await;
                super::$scenario(a.clone(), b.clone()).await;
                a.close().await;
                b.close().await;
            }
        }
    )*};
}

on_every_backend!(
    offer_lifecycle,
    tx_code_attempts_lock_the_offer,
    spent_nonces_are_refused,
    random_indices_are_unique_and_in_range,
    full_lists_move_on_to_the_next_list,
    sweep_forgets_expired_spent_nonces_only,
    sweep_forgets_in_chunks,
    a_failing_write_leaves_the_others_of_its_batch,
    a_write_failing_part_way_keeps_none_of_its_changes,
    closed_stores_refuse_work,
    presentations_gate_redemption_and_are_answered_once,
    logins_gate_redemption_and_are_recorded_once,
    offers_made_after_a_login_redeem,
    authorizations_advance_once_while_unexpired,
    logins_are_audited,
    single_use_keys_are_spent_once,
    sweep_forgets_authorizations_and_presentations_that_are_over,
    pending_presentations_are_counted_per_offer,
    batches_draw_an_entry_per_credential_up_to_per_offer,
    batches_without_revocation_are_counted,
);

on_two_instances!(
    race_redeem,
    race_spend_nonce,
    race_issue,
    race_wrong_tx_codes,
    race_answer_presentation,
    race_advance_authorization,
    race_record_login,
    race_spend_once,
    race_batches,
);

async fn offer_lifecycle(store: Store) {
    store.ping().await.unwrap();
    let offer = new_offer("o1", Some("493536"), T0, T0 + 300);
    store.create_offer(&offer).await.unwrap();
    assert!(
        store.create_offer(&offer).await.is_err(),
        "a second offer with the same id"
    );

    // Read back.
    let stored = store.offer("o1").await.unwrap().unwrap();
    assert_eq!(stored.id, "o1");
    assert_eq!(stored.pre_authorized_code, "o1.code");
    assert_eq!(stored.tx_code.as_deref(), Some("493536"));
    assert_eq!(stored.credential, "membership_card");
    assert_eq!(stored.claims, offer.claims);
    assert_eq!(stored.state, OfferState::Offered);
    assert_eq!(stored.tx_attempts, 0);
    assert_eq!((stored.created_at, stored.expires_at), (T0, T0 + 300));
    assert_eq!(stored.redeemed_at, None);
    assert_eq!(stored.token_expires_at, None);
    assert_eq!(stored.issued_at, None);
    assert_eq!(stored.revoked_at, None);
    assert_eq!(store.offer("nope").await.unwrap(), None);

    // Redeemed once, with its transaction code.
    let tx = Some("493536");
    assert_eq!(
        redeem(&store, "o1.code", tx, "o1.token-1", T0 + 61, T0 + 1).await,
        redeemed_as("o1")
    );
    assert_eq!(
        redeem(&store, "o1.code", tx, "o1.token-2", T0 + 61, T0 + 1).await,
        Redemption::NotOffered(OfferState::Redeemed)
    );
    assert_eq!(
        redeem(&store, "nope", None, "nope.token-3", T0 + 61, T0 + 1).await,
        Redemption::UnknownCode
    );
    let redeemed = store.offer("o1").await.unwrap().unwrap();
    assert_eq!(redeemed.state, OfferState::Redeemed);
    assert_eq!(redeemed.redeemed_at, Some(T0 + 1));
    assert_eq!(redeemed.token_expires_at, Some(T0 + 61));

    // An expired offer cannot be redeemed (expires_at > now), and nothing changes.
    store
        .create_offer(&new_offer("o2", None, T0, T0 + 300))
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, "o2.code", None, "o2.token", T0 + 400, T0 + 300).await,
        Redemption::Expired
    );
    // A code is its offer's id and secret: the id with another secret is no code.
    assert_eq!(
        redeem(&store, "o2.guess", None, "o2.token", T0 + 400, T0 + 1).await,
        Redemption::UnknownCode
    );
    assert_eq!(
        store.offer("o2").await.unwrap().unwrap().state,
        OfferState::Offered
    );
    assert_eq!(
        redeem(&store, "o2.code", None, "o2.token", T0 + 400, T0 + 299).await,
        redeemed_as("o2")
    );

    // The access token finds its offer until it expires (token_expires_at > now).
    let by_token = store
        .offer_by_access_token("o1.token-1", T0 + 60)
        .await
        .unwrap();
    assert_eq!(by_token.map(|o| o.id).as_deref(), Some("o1"));
    assert_eq!(
        store
            .offer_by_access_token("o1.token-1", T0 + 61)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .offer_by_access_token("o1.token-2", T0 + 2)
            .await
            .unwrap(),
        None
    );
    for other in ["o1.code", "o2.token-1", "token-1", ""] {
        assert_eq!(
            store.offer_by_access_token(other, T0 + 2).await.unwrap(),
            None,
            "{other}"
        );
    }

    // Issued once, with a status entry.
    store
        .create_offer(&new_offer("o3", None, T0, T0 + 300))
        .await
        .unwrap();
    assert_eq!(
        issue(&store, "o3", T0 + 2, "n-o3", true).await,
        Issued::NotRedeemed,
        "an offer that was not redeemed"
    );
    assert_eq!(store.statuses_of_offer("o3").await.unwrap(), vec![]);
    // Only for the credential it offers, and a refusal changes nothing.
    let other_credential = store
        .issue(&Issue {
            credential: "other_card",
            ..issuance("o1", T0 + 2, "n-o1")
        })
        .await
        .unwrap();
    assert_eq!(other_credential, Issued::NotRedeemed);
    assert_eq!(
        store.offer("o1").await.unwrap().unwrap().state,
        OfferState::Redeemed
    );
    let Issued::Issued {
        claims,
        count: 1,
        statuses,
    } = issue(&store, "o1", T0 + 2, "n-o1", true).await
    else {
        panic!("the redeemed offer is issued, with a status entry (it is revocable)");
    };
    let [entry] = statuses[..] else {
        panic!("one status entry: {statuses:?}");
    };
    assert_eq!(
        claims,
        new_offer("o1", None, T0, T0 + 300).claims,
        "as stored"
    );
    assert_eq!(entry.list_id, 1);
    assert!((0..4096).contains(&entry.idx));
    assert!(!entry.revoked);
    assert_eq!(entry.issued_at, T0 + 2);
    // Its one credential per offer was issued.
    assert_eq!(
        issue(&store, "o1", T0 + 3, "n-o1-again", true).await,
        Issued::Exhausted { issued: 1 }
    );
    let issued = store.offer("o1").await.unwrap().unwrap();
    assert_eq!(issued.state, OfferState::Issued);
    assert_eq!(issued.issued_at, Some(T0 + 2));
    assert_eq!(issued.issued_count, 1);
    assert_eq!(store.statuses_of_offer("o1").await.unwrap(), vec![entry]);
    assert_eq!(store.revoked_indices(1).await.unwrap(), (true, vec![]));
    assert_eq!(store.revoked_indices(2).await.unwrap(), (false, vec![]));

    // Without revocation: issued, no status entry.
    assert_eq!(
        issue(&store, "o2", T0 + 2, "n-o2", false).await,
        Issued::Issued {
            claims: new_offer("o2", None, T0, T0 + 300).claims,
            count: 1,
            statuses: vec![],
        }
    );
    assert_eq!(store.statuses_of_offer("o2").await.unwrap(), vec![]);
    assert_eq!(
        store.offer("o2").await.unwrap().unwrap().state,
        OfferState::Issued
    );

    // Revocation marks the entries, once.
    let revoked_entry = StatusEntry {
        revoked: true,
        ..entry
    };
    assert_eq!(
        store.revoke_offer("o1", T0 + 10).await.unwrap(),
        Some(vec![revoked_entry])
    );
    let revoked = store.offer("o1").await.unwrap().unwrap();
    assert_eq!(revoked.state, OfferState::Revoked);
    assert_eq!(revoked.revoked_at, Some(T0 + 10));
    assert_eq!(
        store.statuses_of_offer("o1").await.unwrap(),
        vec![revoked_entry]
    );
    assert_eq!(
        store.revoked_indices(1).await.unwrap(),
        (true, vec![entry.idx])
    );
    assert_eq!(
        store.revoke_offer("o1", T0 + 20).await.unwrap(),
        Some(vec![revoked_entry]),
        "revoking again"
    );
    assert_eq!(
        store.offer("o1").await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    assert_eq!(store.revoke_offer("nope", T0 + 20).await.unwrap(), None);

    // A revoked offer can no longer be redeemed or issued.
    assert_eq!(
        store.revoke_offer("o3", T0 + 20).await.unwrap(),
        Some(vec![])
    );
    assert_eq!(
        redeem(&store, "o3.code", None, "o3.token", T0 + 61, T0 + 21).await,
        Redemption::NotOffered(OfferState::Revoked)
    );
    assert_eq!(
        issue(&store, "o3", T0 + 21, "n-o3-late", true).await,
        Issued::NotRedeemed
    );
}

/// A batch of `count` credentials of offer `id` at `now` with `nonce`, of at most `per_offer`,
/// revocable (status entries from list 1 of 4096).
async fn issue_batch(store: &Store, id: &str, nonce: &str, count: i64, per_offer: i64) -> Issued {
    store
        .issue(&Issue {
            count,
            per_offer,
            ..issuance(id, T0 + 1, nonce)
        })
        .await
        .unwrap()
}

/// The status entries of an issuance (panics on a refusal).
fn entries(issued: Issued) -> Vec<StatusEntry> {
    match issued {
        Issued::Issued {
            statuses, count, ..
        } => {
            assert_eq!(statuses.len() as i64, count, "one entry per credential");
            statuses
        }
        other => panic!("not issued: {other:?}"),
    }
}

async fn batches_draw_an_entry_per_credential_up_to_per_offer(store: Store) {
    redeemed(&store, "o").await;
    // A batch of 3: three entries, each its own index; the offer counts them.
    let first = entries(issue_batch(&store, "o", "n1", 3, 5).await);
    assert_eq!(first.len(), 3);
    let offer = store.offer("o").await.unwrap().unwrap();
    assert_eq!(
        (offer.state, offer.issued_count, offer.issued_at),
        (OfferState::Issued, 3, Some(T0 + 1))
    );
    // The same token asks again (a lost answer) with a fresh nonce: the room left, 2 of 3.
    let second = entries(issue_batch(&store, "o", "n2", 3, 5).await);
    assert_eq!(second.len(), 2);
    let mut all: Vec<StatusEntry> = first.iter().chain(&second).copied().collect();
    all.sort_by_key(|e| (e.list_id, e.idx));
    let mut distinct = all.clone();
    distinct.dedup_by_key(|e| (e.list_id, e.idx));
    assert_eq!(distinct.len(), 5, "every credential its own index: {all:?}");
    assert_eq!(store.statuses_of_offer("o").await.unwrap(), all);
    assert_eq!(store.offer("o").await.unwrap().unwrap().issued_count, 5);
    // Exhausted: refused, nothing changed, the nonce left unspent.
    assert_eq!(
        issue_batch(&store, "o", "n3", 1, 5).await,
        Issued::Exhausted { issued: 5 }
    );
    assert_eq!(store.statuses_of_offer("o").await.unwrap().len(), 5);
    redeemed(&store, "p").await;
    assert_eq!(entries(issue_batch(&store, "p", "n3", 1, 5).await).len(), 1);
    // A spent nonce is refused first, exhausted or not.
    assert_eq!(
        issue_batch(&store, "o", "n1", 1, 5).await,
        Issued::NonceSpent
    );
    assert_eq!(
        issue_batch(&store, "o", "n2", 1, 9).await,
        Issued::NonceSpent
    );
    // Revoking the offer revokes every credential it yielded; a revoked offer issues no more,
    // and a replayed nonce is still told it was spent.
    let revoked = store.revoke_offer("o", T0 + 9).await.unwrap().unwrap();
    assert_eq!(revoked.len(), 5);
    assert!(revoked.iter().all(|e| e.revoked), "{revoked:?}");
    let mut indices: Vec<i64> = all.iter().map(|e| e.idx).collect();
    indices.sort_unstable();
    assert_eq!(store.revoked_indices(1).await.unwrap(), (true, indices));
    assert_eq!(
        issue_batch(&store, "o", "n4", 1, 50).await,
        Issued::NotRedeemed
    );
    assert_eq!(
        issue_batch(&store, "o", "n3", 1, 50).await,
        Issued::NonceSpent
    );
    let offer = store.offer("o").await.unwrap().unwrap();
    assert_eq!((offer.state, offer.issued_count), (OfferState::Revoked, 5));
}

async fn batches_without_revocation_are_counted(store: Store) {
    redeemed(&store, "o").await;
    let issued = store
        .issue(&Issue {
            count: 4,
            per_offer: 6,
            revocable: false,
            ..issuance("o", T0 + 1, "n1")
        })
        .await
        .unwrap();
    assert!(
        matches!(&issued, Issued::Issued { count: 4, statuses, .. } if statuses.is_empty()),
        "{issued:?}"
    );
    assert_eq!(store.offer("o").await.unwrap().unwrap().issued_count, 4);
    assert_eq!(store.statuses_of_offer("o").await.unwrap(), vec![]);
    // Nonsense counts are an error, not a refusal.
    for (count, per_offer) in [(0, 6), (1, 0)] {
        let e = store
            .issue(&Issue {
                count,
                per_offer,
                ..issuance("o", T0 + 1, "n2")
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("must be positive"), "{e}");
    }
}

async fn tx_code_attempts_lock_the_offer(store: Store) {
    store
        .create_offer(&new_offer("o1", Some("1234"), T0, T0 + 300))
        .await
        .unwrap();
    let attempt = |tx: Option<&'static str>| redeem(&store, "o1.code", tx, "t", T0 + 60, T0 + 1);
    assert_eq!(attempt(None).await, Redemption::TxCodeMissing);
    for (attempts, locked) in [(1, false), (2, false), (3, true)] {
        assert_eq!(
            attempt(Some("9999")).await,
            Redemption::WrongTxCode { attempts, locked }
        );
    }
    let locked = store.offer("o1").await.unwrap().unwrap();
    assert_eq!((locked.state, locked.tx_attempts), (OfferState::Locked, 3));
    // Locked: the right code no longer redeems it, and wrong ones are not counted any more.
    for tx in ["1234", "9999"] {
        assert_eq!(
            attempt(Some(tx)).await,
            Redemption::NotOffered(OfferState::Locked)
        );
    }
    assert_eq!(store.offer("o1").await.unwrap().unwrap().tx_attempts, 3);

    // The right code after wrong ones still redeems, below the cap.
    store
        .create_offer(&new_offer("o2", Some("1234"), T0, T0 + 300))
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, "o2.code", Some("12345"), "t", T0 + 60, T0 + 1).await,
        Redemption::WrongTxCode {
            attempts: 1,
            locked: false
        }
    );
    assert_eq!(
        redeem(&store, "o2.code", Some("1234"), "t2", T0 + 60, T0 + 1).await,
        redeemed_as("o2")
    );

    // A transaction code for an offer without one is refused, and changes nothing.
    store
        .create_offer(&new_offer("o3", None, T0, T0 + 300))
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, "o3.code", Some("1234"), "t3", T0 + 60, T0 + 1).await,
        Redemption::TxCodeUnexpected
    );
    assert_eq!(
        store.offer("o3").await.unwrap().unwrap().state,
        OfferState::Offered
    );
}

/// Redeems a new offer `id` (no transaction code).
async fn redeemed(store: &Store, id: &str) {
    store
        .create_offer(&new_offer(id, None, T0, T0 + 600))
        .await
        .unwrap();
    assert_eq!(
        redeem(
            store,
            &format!("{id}.code"),
            None,
            &format!("{id}.token"),
            T0 + 300,
            T0
        )
        .await,
        redeemed_as(id)
    );
}

async fn spent_nonces_are_refused(store: Store) {
    redeemed(&store, "a").await;
    redeemed(&store, "b").await;
    assert!(matches!(
        issue(&store, "a", T0 + 1, "n", true).await,
        Issued::Issued { ref statuses, .. } if statuses.len() == 1
    ));
    // The nonce is spent: another offer cannot be issued with it, and nothing changes.
    assert_eq!(
        issue(&store, "b", T0 + 1, "n", true).await,
        Issued::NonceSpent
    );
    let b = store.offer("b").await.unwrap().unwrap();
    assert_eq!((b.state, b.issued_at), (OfferState::Redeemed, None));
    assert_eq!(store.statuses_of_offer("b").await.unwrap(), vec![]);
    // A spent nonce is refused first, whatever the offer (here exhausted, or unknown).
    assert_eq!(
        issue(&store, "a", T0 + 1, "n", true).await,
        Issued::NonceSpent
    );
    assert_eq!(
        issue(&store, "unknown", T0 + 1, "n", true).await,
        Issued::NonceSpent
    );
    assert_eq!(
        issue(&store, "a", T0 + 1, "fresh", true).await,
        Issued::Exhausted { issued: 1 }
    );
    assert_eq!(
        issue(&store, "unknown", T0 + 1, "m", true).await,
        Issued::NotRedeemed
    );
    // ... and a refused issuance does not spend its nonce.
    assert!(matches!(
        issue(&store, "b", T0 + 1, "m", false).await,
        Issued::Issued { ref statuses, .. } if statuses.is_empty()
    ));
    assert!(matches!(
        issue(&store, "b2", T0 + 1, "fresh", false).await,
        Issued::NotRedeemed
    ));
}

async fn random_indices_are_unique_and_in_range(store: Store) {
    const OFFERS: usize = 2_000;
    const TASKS: usize = 16;
    const LIST: i64 = 5;
    const SIZE: i64 = 4_096;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut entries = Vec::new();
            for i in (t..OFFERS).step_by(TASKS) {
                entries.push(issue_one(&store, &format!("r{i}"), LIST, SIZE).await);
            }
            entries
        }));
    }
    let mut entries = Vec::new();
    for task in tasks {
        entries.extend(task.await.unwrap());
    }
    assert_eq!(entries.len(), OFFERS);
    let distinct: HashSet<(i64, i64)> = entries.iter().map(|e| (e.list_id, e.idx)).collect();
    assert_eq!(distinct.len(), OFFERS, "duplicate status entries");
    for e in &entries {
        assert!(e.list_id >= LIST, "{e:?}");
        assert!((0..SIZE).contains(&e.idx), "{e:?}");
    }
    // Random, not sequential: the indices spread over the whole list.
    let in_first_list: Vec<i64> = entries
        .iter()
        .filter(|e| e.list_id == LIST)
        .map(|e| e.idx)
        .collect();
    assert!(in_first_list.len() > OFFERS * 99 / 100);
    assert!(in_first_list.iter().any(|&i| i >= OFFERS as i64 + 1_000));
    assert!(in_first_list.iter().any(|&i| i < 1_000));
    assert_eq!(store.revoked_indices(LIST).await.unwrap(), (true, vec![]));
}

async fn full_lists_move_on_to_the_next_list(store: Store) {
    // Lists of one entry: each issuance fills a list, the next one moves on.
    for (n, expected_list) in [(0, 7), (1, 8), (2, 9)] {
        let entry = issue_one(&store, &format!("one{n}"), 7, 1).await;
        assert_eq!((entry.list_id, entry.idx), (expected_list, 0));
    }
    // Lists of two entries: never more than two per list, all indices below two.
    let mut per_list: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for n in 0..6 {
        let entry = issue_one(&store, &format!("two{n}"), 20, 2).await;
        assert!(
            entry.list_id >= 20 && (0..2).contains(&entry.idx),
            "{entry:?}"
        );
        per_list.entry(entry.list_id).or_default().push(entry.idx);
    }
    assert!(per_list.len() >= 3, "{per_list:?}");
    for (list, indices) in &per_list {
        let distinct: HashSet<_> = indices.iter().collect();
        assert_eq!(distinct.len(), indices.len(), "list {list}: {indices:?}");
    }
    // Revoking one shows in its list only.
    let entries = store.revoke_offer("one1", T0 + 5).await.unwrap().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(store.revoked_indices(8).await.unwrap(), (true, vec![0]));
    assert_eq!(store.revoked_indices(7).await.unwrap(), (true, vec![]));
    let zero = store
        .issue(&Issue {
            list_size: 0,
            ..issuance("x", T0, "n")
        })
        .await
        .unwrap_err();
    assert!(zero.to_string().contains("must be positive"), "{zero}");
}

async fn sweep_forgets_expired_spent_nonces_only(store: Store) {
    // Nonces spent at T0 + 40, + 140 and + 240, each valid for 60 s (a nonce carries its
    // expiry, so it always comes with the same one).
    let expiry = |nonce: &str| match nonce {
        "a" => T0 + 100,
        "b" => T0 + 200,
        _ => T0 + 300,
    };
    for (n, at) in [("a", 40), ("b", 140), ("c", 240)] {
        redeemed(&store, n).await;
        assert!(matches!(
            issue_expiring(&store, n, T0 + at, n, expiry(n)).await,
            Issued::Issued { .. }
        ));
    }
    assert_eq!(store.sweep(T0 + 99).await.unwrap(), 0);
    assert_eq!(store.sweep(T0 + 200).await.unwrap(), 2);
    assert_eq!(store.sweep(T0 + 200).await.unwrap(), 0);
    // `b` is forgotten (refused by its expiry from now on), `c` still remembered.
    redeemed(&store, "d").await;
    assert_eq!(
        issue_expiring(&store, "d", T0 + 250, "c", expiry("c")).await,
        Issued::NonceSpent
    );
    assert!(matches!(
        issue_expiring(&store, "d", T0 + 250, "b", expiry("b")).await,
        Issued::Issued { .. }
    ));
    assert_eq!(
        store.offer("a").await.unwrap().unwrap().state,
        OfferState::Issued,
        "offers are kept"
    );
}

/// A sweep larger than its chunk goes on, oldest first, until every expired nonce is forgotten
/// and nothing else.
async fn sweep_forgets_in_chunks(store: Store) {
    for i in 0..25 {
        let id = format!("s{i}");
        redeemed(&store, &id).await;
        // Expiring at T0 + 100 + i: the first twenty expire by T0 + 119.
        let issued = issue_expiring(&store, &id, T0 + 1, &format!("n{i}"), T0 + 100 + i).await;
        assert!(matches!(issued, Issued::Issued { .. }), "{id}: {issued:?}");
    }
    assert_eq!(store.sweep_in_chunks(T0 + 119, 3).await.unwrap(), 20);
    assert_eq!(store.sweep_in_chunks(T0 + 119, 3).await.unwrap(), 0);
    // The five that had not expired are still spent.
    redeemed(&store, "t").await;
    for i in 20..25 {
        assert_eq!(
            issue_expiring(&store, "t", T0 + 1, &format!("n{i}"), T0 + 100 + i).await,
            Issued::NonceSpent,
            "n{i}"
        );
    }
    assert_eq!(store.sweep_in_chunks(T0 + 200, 3).await.unwrap(), 5);
}

/// Issues offer `id` at `now` with `nonce` expiring at `expires_at`, without a status entry.
async fn issue_expiring(store: &Store, id: &str, now: i64, nonce: &str, expires_at: i64) -> Issued {
    store
        .issue(&Issue {
            nonce_expires_at: expires_at,
            revocable: false,
            ..issuance(id, now, nonce)
        })
        .await
        .unwrap()
}

/// Many writes at once share the writer's transactions; the ones that fail (an id already
/// stored) are rolled back alone.
async fn a_failing_write_leaves_the_others_of_its_batch(store: Store) {
    store
        .create_offer(&new_offer("taken", None, T0, T0 + 300))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = if i % 8 == 0 {
                "taken".to_string()
            } else {
                format!("w{i}")
            };
            let mut offer = new_offer(&id, None, T0, T0 + 300);
            offer.pre_authorized_code = format!("code-{i}");
            (id, store.create_offer(&offer).await)
        }));
    }
    for task in tasks {
        let (id, result) = task.await.unwrap();
        if id == "taken" {
            let e = result.unwrap_err();
            assert!(e.to_string().contains("create offer `taken`"), "{e}");
        } else {
            result.unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(store.offer(&id).await.unwrap().is_some(), "{id}");
        }
    }
    let taken = store.offer("taken").await.unwrap().unwrap();
    assert_eq!(taken.pre_authorized_code, "taken.code");
}

/// An issuance that finds no room in the last status list fails after it has marked its offer
/// issued and spent its nonce (SQLite), or in the one statement that would (PostgreSQL): it
/// keeps neither, alone in its transaction as among others.
async fn a_write_failing_part_way_keeps_none_of_its_changes(store: Store) {
    issue_one(&store, "first", i64::MAX, 1).await;
    redeemed(&store, "second").await;
    let e = store
        .issue(&Issue {
            list_id: i64::MAX,
            list_size: 1,
            ..issuance("second", T0 + 1, "nonce-second")
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no status list has room"), "{e}");
    assert_eq!(
        store.offer("second").await.unwrap().unwrap().state,
        OfferState::Redeemed
    );
    // Nor was its nonce spent: the issuance succeeds with it where a list has room.
    assert!(matches!(
        issue(&store, "second", T0 + 1, "nonce-second", true).await,
        Issued::Issued { ref statuses, .. } if statuses.len() == 1
    ));
}

async fn closed_stores_refuse_work(store: Store) {
    store
        .create_offer(&new_offer("o", None, T0, T0 + 300))
        .await
        .unwrap();
    let other = store.clone();
    store.close().await;
    let e = other
        .create_offer(&new_offer("p", None, T0, T0 + 300))
        .await
        .unwrap_err();
    assert!(
        e.to_string().starts_with("cannot create offer `p` in"),
        "{e}"
    );
    assert!(other.offer("o").await.is_err());
}

/// Runs `f(store, i)` in 32 tasks started together, alternating between the two stores.
async fn race<T, F, Fut>(a: &Store, b: &Store, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    const TASKS: usize = 32;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let barrier = barrier.clone();
        let work = f(store, i);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            work.await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn race_redeem(a: Store, b: Store) {
    for round in 0..5 {
        let id = format!("o{round}");
        a.create_offer(&new_offer(&id, None, T0, T0 + 300))
            .await
            .unwrap();
        let results = race(&a, &b, |store, i| {
            let id = id.clone();
            async move {
                let token = format!("{id}.token-{i}");
                (
                    i,
                    redeem(&store, &format!("{id}.code"), None, &token, T0 + 60, T0).await,
                )
            }
        })
        .await;
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, r)| *r == redeemed_as(&id))
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (_, result) in &results {
            assert!(
                *result == redeemed_as(&id)
                    || *result == Redemption::NotOffered(OfferState::Redeemed),
                "round {round}: {result:?}"
            );
        }
        // The winner's token is the one stored.
        let token = format!("{id}.token-{}", winners[0]);
        let found = b.offer_by_access_token(&token, T0).await.unwrap().unwrap();
        assert_eq!(found.id, id);
        assert_eq!(found.state, OfferState::Redeemed);
    }
}

/// 32 issuances of different offers with one nonce: one is issued, the others refused with
/// nothing changed.
async fn race_spend_nonce(a: Store, b: Store) {
    for round in 0..3 {
        for i in 0..32 {
            redeemed(&a, &format!("r{round}-{i}")).await;
        }
        let nonce = format!("nonce-{round}");
        let results = race(&a, &b, |store, i| {
            let nonce = nonce.clone();
            async move {
                let id = format!("r{round}-{i}");
                (id.clone(), issue(&store, &id, T0 + 1, &nonce, true).await)
            }
        })
        .await;
        let winners: Vec<&String> = results
            .iter()
            .filter(|(_, r)| matches!(r, Issued::Issued { statuses, .. } if statuses.len() == 1))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (id, result) in &results {
            let state = b.offer(id).await.unwrap().unwrap().state;
            if id == winners[0] {
                assert_eq!(state, OfferState::Issued);
            } else {
                assert_eq!(*result, Issued::NonceSpent, "round {round}");
                assert_eq!(state, OfferState::Redeemed, "round {round}: {id}");
            }
        }
    }
}

/// 32 issuances of one offer of one credential per offer, each with its own nonce: one is
/// issued, the others find the offer exhausted; their nonces are left unspent.
async fn race_issue(a: Store, b: Store) {
    for round in 0..5 {
        let id = format!("o{round}");
        redeemed(&a, &id).await;
        let results = race(&a, &b, |store, i| {
            let id = id.clone();
            async move { issue(&store, &id, T0 + 1, &format!("n{round}-{i}"), true).await }
        })
        .await;
        let issued: Vec<StatusEntry> = results
            .iter()
            .filter_map(|r| match r {
                Issued::Issued { statuses, .. } => statuses.first().copied(),
                _ => None,
            })
            .collect();
        assert_eq!(issued.len(), 1, "round {round}: {results:?}");
        let losers: Vec<usize> = (0..results.len())
            .filter(|&i| results[i] == Issued::Exhausted { issued: 1 })
            .collect();
        assert_eq!(
            losers.len(),
            results.len() - 1,
            "round {round}: {results:?}"
        );
        assert_eq!(a.statuses_of_offer(&id).await.unwrap(), issued);
        assert_eq!(
            b.offer(&id).await.unwrap().unwrap().state,
            OfferState::Issued
        );
        let spare = format!("spare{round}");
        redeemed(&b, &spare).await;
        assert!(matches!(
            issue(&b, &spare, T0 + 1, &format!("n{round}-{}", losers[0]), true).await,
            Issued::Issued { .. }
        ));
    }
}

/// 32 batches of 3 for one offer of at most 20, each with its own nonce, from two instances at
/// once: 20 credentials in all (six full batches and one of 2), each with its own status entry;
/// the others find the offer exhausted, their nonces unspent.
async fn race_batches(a: Store, b: Store) {
    redeemed(&a, "o").await;
    let results = race(&a, &b, |store, i| async move {
        issue_batch(&store, "o", &format!("n{i}"), 3, 20).await
    })
    .await;
    let mut counts: Vec<i64> = Vec::new();
    let mut issued: Vec<StatusEntry> = Vec::new();
    for result in &results {
        match result {
            Issued::Issued {
                count, statuses, ..
            } => {
                assert_eq!(statuses.len() as i64, *count);
                counts.push(*count);
                issued.extend(statuses);
            }
            Issued::Exhausted { issued } => assert_eq!(*issued, 20),
            other => panic!("{other:?}"),
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, [2, 3, 3, 3, 3, 3, 3], "{results:?}");
    issued.sort_by_key(|e| (e.list_id, e.idx));
    assert_eq!(b.statuses_of_offer("o").await.unwrap(), issued);
    issued.dedup_by_key(|e| (e.list_id, e.idx));
    assert_eq!(issued.len(), 20);
    assert_eq!(a.offer("o").await.unwrap().unwrap().issued_count, 20);
}

/// 32 wrong transaction codes at once: each counted once until the offer locks at the cap;
/// the later ones find it locked.
async fn race_wrong_tx_codes(a: Store, b: Store) {
    a.create_offer(&new_offer("o", Some("1234"), T0, T0 + 300))
        .await
        .unwrap();
    let results = race(&a, &b, |store, i| async move {
        redeem(
            &store,
            "o.code",
            Some("0000"),
            &format!("o.t{i}"),
            T0 + 60,
            T0,
        )
        .await
    })
    .await;
    let mut counted: Vec<i64> = Vec::new();
    for result in &results {
        match result {
            Redemption::WrongTxCode { attempts, locked } => {
                assert_eq!(*locked, *attempts >= 3, "attempt {attempts}");
                counted.push(*attempts);
            }
            other => assert_eq!(*other, Redemption::NotOffered(OfferState::Locked)),
        }
    }
    counted.sort();
    assert!(counted.len() >= 3, "{results:?}");
    assert_eq!(counted, (1..=counted.len() as i64).collect::<Vec<i64>>());
    let offer = b.offer("o").await.unwrap().unwrap();
    assert_eq!(
        (offer.state, offer.tx_attempts),
        (OfferState::Locked, counted.len() as i64)
    );
}

/// Four instances start at once on the database at `url` (migrating it), and all see what one
/// writes.
async fn instances_start_together(url: &str) {
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().expect("every instance starts"));
    }
    stores[0]
        .create_offer(&new_offer("o", None, T0, T0 + 300))
        .await
        .unwrap();
    for store in &stores {
        assert!(store.offer("o").await.unwrap().is_some());
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_migrations_run_once_when_instances_start_together() {
    let Some(url) = postgres::database("concurrent_connect") else {
        return;
    };
    instances_start_together(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_instances_start_together_on_a_new_file() {
    let db = SqliteFile::new("concurrent_connect");
    instances_start_together(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_harness_stops_its_server_when_dropped() {
    if std::env::var_os("TRUSTC_TEST_POSTGRES_URL").is_some() {
        return postgres::skipped("the private-server harness test (external server)");
    }
    let Some(cluster) = postgres::PgCluster::start() else {
        return postgres::skipped("the PostgreSQL harness test (no PostgreSQL server)");
    };
    let dir = cluster.dir().unwrap().to_owned();
    let address = cluster.url_base.rsplit('@').next().unwrap().to_owned();
    let url = cluster.database("harness");
    let store = connect(&url).await;
    store.ping().await.unwrap();
    store.close().await;
    drop(cluster);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the server still listens on {address}"
    );
}

/// A write whose request goes away after queuing it (a client that disconnects) still runs at
/// once: it is not left in the queue until another request happens to run the batch. Another
/// instance on the file sees it without this one doing anything more.
#[tokio::test]
async fn sqlite_writes_of_requests_that_go_away_still_run() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let db = SqliteFile::new("gone");
    let store = connect(&db.url).await;
    let other = connect(&db.url).await;
    let offer = new_offer("o", None, T0, T0 + 300);
    let mut write = Box::pin(store.create_offer(&offer));
    // The first poll queues the job and lets the worker run what else is ready.
    let polled = write.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(polled, Poll::Pending));
    drop(write);
    assert_eq!(
        other.offer("o").await.unwrap().map(|o| o.state),
        Some(OfferState::Offered)
    );
    store.close().await;
    other.close().await;
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_and_reopened() {
    let db = SqliteFile::new("reopen");
    assert!(!db.path.exists());
    let store = connect(&format!("sqlite://{}", db.path.display())).await;
    store
        .create_offer(&new_offer("o", None, T0, T0 + 300))
        .await
        .unwrap();
    assert!(db.path.exists());
    let wal = db.path.with_extension("db-wal");
    assert!(wal.exists(), "no WAL file next to {}", db.path.display());
    store.close().await;
    // Closed, the database is one complete file: the WAL was written back and removed (at once,
    // not at the next checkpoint), and so was the shared-memory index.
    for leftover in [wal, db.path.with_extension("db-shm")] {
        assert!(
            !leftover.exists(),
            "{} is left after close",
            leftover.display()
        );
    }

    let again = connect(&db.url).await;
    assert_eq!(
        again.offer("o").await.unwrap().unwrap().state,
        OfferState::Offered
    );
    again.close().await;
}

#[tokio::test]
async fn in_memory_databases_are_separate() {
    let a = connect("sqlite::memory:").await;
    let b = connect("sqlite::memory:").await;
    a.create_offer(&new_offer("o", None, T0, T0 + 300))
        .await
        .unwrap();
    assert!(a.offer("o").await.unwrap().is_some());
    assert!(b.offer("o").await.unwrap().is_none());
}

#[tokio::test]
async fn connection_errors_say_what_failed() {
    let e = Store::connect("mysql://user:secret@localhost/db")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unsupported"), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");

    let e = Store::connect("sqlite:/nonexistent-trustc-dir/sub/x.db")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot open the database `sqlite:/nonexistent-trustc-dir/sub/x.db`:"),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with("its folder `/nonexistent-trustc-dir/sub` does not exist"),
        "{e}"
    );

    let e = Store::connect("postgres://u:secret@127.0.0.1:99999/db")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot open the database `postgres://u:***@127.0.0.1:99999/db`"),
        "{e}"
    );
}

/// A file written by the first trustc serve (whose SQLite store was sqlx's, with sqlx's
/// migration ledger) is migrated in place, its offers kept.
#[tokio::test]
async fn sqlite_files_of_the_sqlx_store_are_migrated_in_place() {
    let db = SqliteFile::new("sqlx-era");
    {
        let conn = rusqlite::Connection::open(&db.path).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_store.sql"))
            .unwrap();
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL); \
             INSERT INTO _sqlx_migrations VALUES (1, 'store', CURRENT_TIMESTAMP, 1, x'00', 1); \
             INSERT INTO offers (id, pre_authorized_code, credential, claims, state, created_at, \
             expires_at) VALUES ('kept', 'code-kept', 'membership_card', '{}', 'issued', 1, 2); \
             INSERT INTO status_entries VALUES (1, 42, 'kept', 1, 1); \
             INSERT INTO nonces VALUES ('old', 1);",
        )
        .unwrap();
    }
    let store = connect(&db.url).await;
    assert_eq!(
        store
            .offer("kept")
            .await
            .unwrap()
            .unwrap()
            .pre_authorized_code,
        "code-kept"
    );
    redeemed(&store, "o").await;
    assert!(matches!(
        issue(&store, "o", T0 + 1, "n", true).await,
        Issued::Issued { ref statuses, .. } if statuses.len() == 1
    ));
    store.close().await;
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 7, "every migration applied");
    let nonces_table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'nonces'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(nonces_table, 0, "the table of handed-out nonces is gone");
}

/// A presentation request for offer `offer_id`, pending until `T0 + 300`.
/// What caps the presentation requests of an offer: only its own requests that still wait for
/// a wallet (`pending`, unexpired) count, with the first expiry.
async fn pending_presentations_are_counted_per_offer(store: Store) {
    for id in ["o1", "o2"] {
        store
            .create_offer(&new_offer(id, None, T0, T0 + 600))
            .await
            .unwrap();
    }
    assert_eq!(
        store.pending_presentations("o1", T0).await.unwrap(),
        PendingPresentations {
            count: 0,
            first_expiry: None
        }
    );
    for (id, offer, created) in [
        ("p1", "o1", T0),
        ("p2", "o1", T0 + 10),
        ("p3", "o1", T0 + 20),
    ] {
        let mut presentation = new_presentation(id, offer);
        presentation.created_at = created;
        presentation.expires_at = created + 300;
        store.create_presentation(&presentation).await.unwrap();
    }
    store
        .create_presentation(&new_presentation("p4", "o2"))
        .await
        .unwrap();
    // p3 was answered: it no longer waits.
    assert!(
        store
            .advance_presentation(&Advance {
                id: "p3",
                from: PresentationState::Pending,
                to: PresentationState::Answered,
                unexpired_at: None,
                code: None,
            })
            .await
            .unwrap()
    );
    assert_eq!(
        store.pending_presentations("o1", T0 + 30).await.unwrap(),
        PendingPresentations {
            count: 2,
            first_expiry: Some(T0 + 300)
        }
    );
    // p1 expired.
    assert_eq!(
        store.pending_presentations("o1", T0 + 300).await.unwrap(),
        PendingPresentations {
            count: 1,
            first_expiry: Some(T0 + 310)
        }
    );
    assert_eq!(
        store
            .pending_presentations("o1", T0 + 310)
            .await
            .unwrap()
            .count,
        0
    );
}

fn new_presentation(id: &str, offer_id: &str) -> Presentation {
    Presentation {
        id: id.to_owned(),
        offer_id: offer_id.to_owned(),
        nonce: format!("{id}-nonce"),
        state: PresentationState::Pending,
        authorization: AuthorizationRequest {
            auth_session: Some(format!("{id}.session")),
            client_id: Some("wallet-app".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            redirect_uri: None,
        },
        session: None,
        code: None,
        code_expires_at: None,
        created_at: T0,
        expires_at: T0 + 300,
    }
}

fn advance<'a>(id: &'a str, from: PresentationState, to: PresentationState) -> Advance<'a> {
    Advance {
        id,
        from,
        to,
        unexpired_at: None,
        code: None,
    }
}

async fn presentations_gate_redemption_and_are_answered_once(store: Store) {
    let mut offer = new_offer("gated", None, T0, T0 + 600);
    offer.needs_presentation = true;
    store.create_offer(&offer).await.unwrap();
    // Not presented yet: the offer's own code does not redeem, and nothing changes.
    assert_eq!(
        redeem(&store, "gated.code", None, "gated.t", T0 + 300, T0 + 1).await,
        Redemption::NotPresented
    );
    let stored = store.offer("gated").await.unwrap().unwrap();
    assert!(stored.needs_presentation);
    assert_eq!(
        (stored.state, stored.presented_at),
        (OfferState::Offered, None)
    );

    let presentation = new_presentation("p1", "gated");
    store.create_presentation(&presentation).await.unwrap();
    assert_eq!(
        store.presentation("p1").await.unwrap().unwrap(),
        presentation
    );
    assert!(store.presentation("p2").await.unwrap().is_none());
    // Too late: an expired request cannot be answered.
    let mut late = advance(
        "p1",
        PresentationState::Pending,
        PresentationState::Answered,
    );
    late.unexpired_at = Some(T0 + 300);
    assert!(!store.advance_presentation(&late).await.unwrap());
    // Answered once.
    let mut answer = late.clone();
    answer.unexpired_at = Some(T0 + 10);
    assert!(store.advance_presentation(&answer).await.unwrap());
    assert!(!store.advance_presentation(&answer).await.unwrap());
    // Verified: the merged claims and `presented_at` land on the offer, once.
    let claims = r#"{"given_name":"Ada","member_id":"gated"}"#;
    assert!(
        store
            .record_presented("p1", "p1.pdi", claims, T0 + 11)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_presented("p1", "p1.pdi", claims, T0 + 12)
            .await
            .unwrap()
    );
    let stored = store.offer("gated").await.unwrap().unwrap();
    assert_eq!(
        (stored.claims.as_str(), stored.presented_at),
        (claims, Some(T0 + 11))
    );
    let verified = store.presentation("p1").await.unwrap().unwrap();
    assert_eq!(verified.state, PresentationState::Verified);
    assert_eq!(verified.session.as_deref(), Some("p1.pdi"));
    // The code, then its use, each once.
    let mut code = advance(
        "p1",
        PresentationState::Verified,
        PresentationState::CodeIssued,
    );
    code.code = Some(("p1.code", T0 + 71));
    assert!(store.advance_presentation(&code).await.unwrap());
    assert!(!store.advance_presentation(&code).await.unwrap());
    let issued = store.presentation("p1").await.unwrap().unwrap();
    assert_eq!(
        (issued.code.as_deref(), issued.code_expires_at),
        (Some("p1.code"), Some(T0 + 71))
    );
    let used = advance("p1", PresentationState::CodeIssued, PresentationState::Used);
    assert!(store.advance_presentation(&used).await.unwrap());
    assert!(!store.advance_presentation(&used).await.unwrap());
    // Presented: now the offer redeems.
    assert_eq!(
        redeem(&store, "gated.code", None, "gated.t", T0 + 300, T0 + 20).await,
        redeemed_as("gated")
    );

    // A refused presentation leaves the offer as it was; a withdrawn offer takes no claims.
    let mut other = new_offer("withdrawn", None, T0, T0 + 600);
    other.needs_presentation = true;
    store.create_offer(&other).await.unwrap();
    store
        .create_presentation(&new_presentation("p2", "withdrawn"))
        .await
        .unwrap();
    store.revoke_offer("withdrawn", T0 + 5).await.unwrap();
    assert!(
        store
            .advance_presentation(&advance(
                "p2",
                PresentationState::Pending,
                PresentationState::Answered
            ))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_presented("p2", "p2.pdi", "{}", T0 + 6)
            .await
            .unwrap()
    );
    assert_eq!(
        store.presentation("p2").await.unwrap().unwrap().state,
        PresentationState::Answered,
        "nothing recorded for a withdrawn offer"
    );

    // The audit, oldest first, per offer.
    for (at, outcome) in [(T0 + 3, "refused"), (T0 + 11, "verified")] {
        store
            .audit_verification(&Verification {
                presentation_id: "p1".into(),
                offer_id: "gated".into(),
                at,
                prerequisite: Some("person".into()),
                issuer: Some("did:web:issuer.example".into()),
                vct: Some("https://issuer.example/person".into()),
                status_uri: Some("https://issuer.example/status-lists/1".into()),
                status_idx: Some(42),
                outcome: outcome.into(),
                reason: (outcome == "refused").then(|| "the key binding is stale".into()),
            })
            .await
            .unwrap();
    }
    let audit = store.verifications_of_offer("gated").await.unwrap();
    assert_eq!(
        audit.iter().map(|v| v.outcome.as_str()).collect::<Vec<_>>(),
        ["refused", "verified"]
    );
    assert_eq!(audit[0].status_idx, Some(42));
    assert!(
        store
            .verifications_of_offer("withdrawn")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two instances receive the same response at once: exactly one may verify it.
async fn race_answer_presentation(a: Store, b: Store) {
    for round in 0..5 {
        let offer_id = format!("o{round}");
        let mut offer = new_offer(&offer_id, None, T0, T0 + 600);
        offer.needs_presentation = true;
        a.create_offer(&offer).await.unwrap();
        let id = format!("p{round}");
        a.create_presentation(&new_presentation(&id, &offer_id))
            .await
            .unwrap();
        let results = race(&a, &b, |store, i| {
            let id = id.clone();
            async move {
                let mut answer =
                    advance(&id, PresentationState::Pending, PresentationState::Answered);
                answer.unexpired_at = Some(T0 + 1);
                (i, store.advance_presentation(&answer).await.unwrap())
            }
        })
        .await;
        let winners = results.iter().filter(|(_, won)| *won).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
    }
}

/// A login credential's offer `id`, for `subject` when given, offered until `T0 + 600`.
fn login_offer(id: &str, subject: Option<&str>) -> NewOffer {
    NewOffer {
        needs_login: true,
        subject: subject.map(str::to_owned),
        ..new_offer(id, None, T0, T0 + 600)
    }
}

/// Records a login as `subject` on offer `id` at `now`, with claims naming the subject.
async fn log_in(store: &Store, id: &str, subject: &str, now: i64) -> bool {
    store
        .record_login(&RecordLogin {
            offer_id: id,
            claims: &format!(r#"{{"given_name":"Ada","member_id":"{id}","sub":"{subject}"}}"#),
            subject,
            now,
        })
        .await
        .unwrap()
}

async fn logins_gate_redemption_and_are_recorded_once(store: Store) {
    store
        .create_offer(&login_offer("open", None))
        .await
        .unwrap();
    // Not signed in: the offer's own code does not redeem, and nothing changes.
    assert_eq!(
        redeem(&store, "open.code", None, "open.t", T0 + 300, T0 + 1).await,
        Redemption::NotLoggedIn
    );
    let stored = store.offer("open").await.unwrap().unwrap();
    assert!(stored.needs_login);
    assert_eq!(
        (
            stored.state,
            stored.subject,
            stored.logged_in_at,
            stored.login_subject
        ),
        (OfferState::Offered, None, None, None)
    );

    // Signed in once: the claims, when and as whom land on the offer.
    assert!(log_in(&store, "open", "sub-ada", T0 + 2).await);
    let logged_in = store.offer("open").await.unwrap().unwrap();
    assert_eq!(
        logged_in.claims,
        r#"{"given_name":"Ada","member_id":"open","sub":"sub-ada"}"#
    );
    assert_eq!(
        (logged_in.logged_in_at, logged_in.login_subject.as_deref()),
        (Some(T0 + 2), Some("sub-ada"))
    );
    // A second login, as anyone, changes nothing.
    assert!(!log_in(&store, "open", "sub-ada", T0 + 3).await);
    assert!(!log_in(&store, "open", "sub-bob", T0 + 3).await);
    assert_eq!(store.offer("open").await.unwrap().unwrap(), logged_in);
    assert_eq!(
        redeem(&store, "open.code", None, "open.t", T0 + 300, T0 + 4).await,
        redeemed_as("open")
    );

    // An offer for someone takes only their login.
    store
        .create_offer(&login_offer("for-ada", Some("sub-ada")))
        .await
        .unwrap();
    assert!(!log_in(&store, "for-ada", "sub-bob", T0 + 1).await);
    let refused = store.offer("for-ada").await.unwrap().unwrap();
    assert_eq!(refused.subject.as_deref(), Some("sub-ada"));
    assert_eq!((refused.logged_in_at, refused.login_subject), (None, None));
    assert!(log_in(&store, "for-ada", "sub-ada", T0 + 2).await);

    // The login comes before the presentation: without it, an offer that needs both says so.
    let mut both = login_offer("both", None);
    both.needs_presentation = true;
    store.create_offer(&both).await.unwrap();
    assert_eq!(
        redeem(&store, "both.code", None, "both.t", T0 + 300, T0 + 1).await,
        Redemption::NotLoggedIn
    );
    assert!(log_in(&store, "both", "sub-ada", T0 + 2).await);
    assert_eq!(
        redeem(&store, "both.code", None, "both.t", T0 + 300, T0 + 3).await,
        Redemption::NotPresented
    );

    // Expired, redeemed, revoked or unknown offers take no login.
    store
        .create_offer(&login_offer("late", None))
        .await
        .unwrap();
    assert!(!log_in(&store, "late", "sub-ada", T0 + 600).await);
    assert_eq!(
        store.offer("late").await.unwrap().unwrap().logged_in_at,
        None
    );
    redeemed(&store, "used").await;
    assert!(!log_in(&store, "used", "sub-ada", T0 + 1).await);
    store
        .create_offer(&login_offer("withdrawn", None))
        .await
        .unwrap();
    store.revoke_offer("withdrawn", T0 + 1).await.unwrap();
    assert!(!log_in(&store, "withdrawn", "sub-ada", T0 + 2).await);
    assert!(!log_in(&store, "nope", "sub-ada", T0 + 2).await);
    for id in ["used", "withdrawn"] {
        let offer = store.offer(id).await.unwrap().unwrap();
        assert_eq!(
            (offer.logged_in_at, offer.login_subject),
            (None, None),
            "{id}"
        );
    }
}

/// An offer made at the login's callback (wallet-initiated, or the issuer's page) is signed in
/// from the start.
async fn offers_made_after_a_login_redeem(store: Store) {
    let offer = NewOffer {
        logged_in: Some((T0, "sub-ada".to_owned())),
        ..login_offer("made", Some("sub-ada"))
    };
    store.create_offer(&offer).await.unwrap();
    let stored = store.offer("made").await.unwrap().unwrap();
    assert!(stored.needs_login);
    assert_eq!(
        (
            stored.subject.as_deref(),
            stored.logged_in_at,
            stored.login_subject.as_deref()
        ),
        (Some("sub-ada"), Some(T0), Some("sub-ada"))
    );
    // Signed in already: no second login.
    assert!(!log_in(&store, "made", "sub-ada", T0 + 1).await);
    assert_eq!(
        redeem(&store, "made.code", None, "made.t", T0 + 300, T0 + 1).await,
        redeemed_as("made")
    );
    // An offer that needs no login ignores the columns.
    let plain = store.offer("made").await.unwrap().unwrap();
    assert_eq!(plain.state, OfferState::Redeemed);
    store
        .create_offer(&new_offer("plain", None, T0, T0 + 600))
        .await
        .unwrap();
    let plain = store.offer("plain").await.unwrap().unwrap();
    assert!(!plain.needs_login);
    assert_eq!((plain.subject, plain.logged_in_at), (None, None));
}

/// A wallet's authorization request for the test credential, `requested` until `T0 + 60`.
fn new_authorization(id: &str) -> Authorization {
    Authorization {
        id: id.to_owned(),
        kind: AuthorizationKind::Wallet,
        state: AuthorizationState::Requested,
        credential: "membership_card".to_owned(),
        offer_id: None,
        client_id: Some("wallet-app".into()),
        redirect_uri: Some("https://wallet.example/cb".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        wallet_state: Some("wallet-state".into()),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        provider: "bcgov/bc-services-card".to_owned(),
        login_state: None,
        login_nonce: None,
        login_verifier: None,
        code: None,
        code_expires_at: None,
        created_at: T0,
        expires_at: T0 + 60,
    }
}

fn step<'a>(
    id: &'a str,
    from: AuthorizationState,
    to: AuthorizationState,
) -> AuthorizationAdvance<'a> {
    AuthorizationAdvance::new(id, from, to)
}

async fn authorizations_advance_once_while_unexpired(store: Store) {
    use AuthorizationState::*;
    let requested = new_authorization("a1");
    store.create_authorization(&requested).await.unwrap();
    assert!(
        store.create_authorization(&requested).await.is_err(),
        "a second authorization with the same id"
    );
    assert_eq!(store.authorization("a1").await.unwrap().unwrap(), requested);
    assert!(store.authorization("nope").await.unwrap().is_none());

    // Too late: an expired request goes no further, and nothing changes.
    let mut send = step("a1", Requested, LoggingIn);
    send.unexpired_at = Some(T0 + 60);
    send.login = Some(("a1.state", "a1.nonce", "a1.verifier"));
    send.expires_at = Some(T0 + 600);
    assert!(!store.advance_authorization(&send).await.unwrap());
    assert_eq!(store.authorization("a1").await.unwrap().unwrap(), requested);
    // Sent to the provider once, with the login transaction and a new expiry.
    send.unexpired_at = Some(T0 + 59);
    assert!(store.advance_authorization(&send).await.unwrap());
    assert!(!store.advance_authorization(&send).await.unwrap());
    let logging_in = store.authorization("a1").await.unwrap().unwrap();
    assert_eq!(
        logging_in,
        Authorization {
            state: LoggingIn,
            login_state: Some("a1.state".into()),
            login_nonce: Some("a1.nonce".into()),
            login_verifier: Some("a1.verifier".into()),
            expires_at: T0 + 600,
            ..requested.clone()
        }
    );
    // A move from another state does nothing.
    assert!(
        !store
            .advance_authorization(&step("a1", LoggedIn, CodeIssued))
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_authorization(&step("nope", Requested, LoggingIn))
            .await
            .unwrap()
    );

    // Logged in, naming the offer it made; what was set before stays.
    store
        .create_offer(&login_offer("made", None))
        .await
        .unwrap();
    let mut back = step("a1", LoggingIn, LoggedIn);
    back.offer_id = Some("made");
    back.unexpired_at = Some(T0 + 100);
    assert!(store.advance_authorization(&back).await.unwrap());
    // The code, then its use, each once.
    let mut code = step("a1", LoggedIn, CodeIssued);
    code.code = Some(("a1.code", T0 + 160));
    assert!(store.advance_authorization(&code).await.unwrap());
    assert!(!store.advance_authorization(&code).await.unwrap());
    assert_eq!(
        store.authorization("a1").await.unwrap().unwrap(),
        Authorization {
            state: CodeIssued,
            offer_id: Some("made".into()),
            code: Some("a1.code".into()),
            code_expires_at: Some(T0 + 160),
            ..logging_in.clone()
        }
    );
    let used = step("a1", CodeIssued, Used);
    assert!(store.advance_authorization(&used).await.unwrap());
    assert!(!store.advance_authorization(&used).await.unwrap());
    assert_eq!(
        store.authorization("a1").await.unwrap().unwrap().state,
        Used
    );

    // The page's request, refused: it goes no further.
    let page = Authorization {
        kind: AuthorizationKind::Page,
        client_id: None,
        redirect_uri: None,
        code_challenge: None,
        wallet_state: None,
        dpop_jkt: None,
        ..new_authorization("a2")
    };
    store.create_authorization(&page).await.unwrap();
    assert_eq!(store.authorization("a2").await.unwrap().unwrap(), page);
    assert!(
        store
            .advance_authorization(&step("a2", Requested, Refused))
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_authorization(&step("a2", Requested, LoggingIn))
            .await
            .unwrap()
    );
    assert_eq!(
        store.authorization("a2").await.unwrap().unwrap().state,
        Refused
    );
    // An authorization names an offer that exists.
    let mut dangling = step("a3", Requested, LoggedIn);
    store
        .create_authorization(&new_authorization("a3"))
        .await
        .unwrap();
    dangling.offer_id = Some("no-such-offer");
    assert!(store.advance_authorization(&dangling).await.is_err());
}

async fn logins_are_audited(store: Store) {
    let audit = |at: i64, offer_id: Option<&str>, outcome: &str| LoginAudit {
        authorization_id: format!("a{at}"),
        offer_id: offer_id.map(str::to_owned),
        at,
        provider: "bcgov/bc-services-card".into(),
        subject: Some("sub-ada".into()),
        acr: (outcome == "logged_in").then(|| "urn:example:loa:3".into()),
        outcome: outcome.into(),
        reason: (outcome == "refused").then(|| "the ID token's `acr` is too low".into()),
    };
    // Stored out of order: read back oldest first, per offer.
    let later = audit(T0 + 20, Some("o1"), "logged_in");
    let earlier = audit(T0 + 10, Some("o1"), "refused");
    for login in [
        &later,
        &earlier,
        &audit(T0 + 15, Some("o2"), "logged_in"),
        &audit(T0 + 5, None, "refused"),
    ] {
        store.audit_login(login).await.unwrap();
    }
    assert_eq!(store.logins_of_offer("o1").await.unwrap(), [earlier, later]);
    assert_eq!(store.logins_of_offer("o2").await.unwrap().len(), 1);
    assert!(store.logins_of_offer("o3").await.unwrap().is_empty());
    // The audit reads as JSON (the admin API shows it).
    let json = serde_json::to_value(&store.logins_of_offer("o2").await.unwrap()[0]).unwrap();
    assert_eq!(json["outcome"], "logged_in");
    assert_eq!(json["acr"], "urn:example:loa:3");
}

async fn single_use_keys_are_spent_once(store: Store) {
    assert!(store.spend_once("jti-1", T0 + 100).await.unwrap());
    assert!(!store.spend_once("jti-1", T0 + 100).await.unwrap());
    // Whatever expiry comes with it.
    assert!(!store.spend_once("jti-1", T0 + 900).await.unwrap());
    assert!(store.spend_once("jti-2", T0 + 200).await.unwrap());
    // Keys and c_nonces are apart: a key spent is no nonce spent.
    redeemed(&store, "o").await;
    assert!(matches!(
        issue_expiring(&store, "o", T0 + 1, "jti-2", T0 + 200).await,
        Issued::Issued { .. }
    ));
    // Remembered until swept after they expired; then spent again as new.
    assert_eq!(store.sweep(T0 + 99).await.unwrap(), 0);
    assert!(!store.spend_once("jti-1", T0 + 100).await.unwrap());
    assert_eq!(store.sweep(T0 + 100).await.unwrap(), 1);
    assert!(!store.spend_once("jti-2", T0 + 200).await.unwrap());
    assert!(store.spend_once("jti-1", T0 + 300).await.unwrap());
}

/// The sweep forgets a presentation or an authorization once it expired, its code expired, and
/// its offer no longer waits (the holder's page of a waiting offer may show it); the audits and
/// the offers stay.
async fn sweep_forgets_authorizations_and_presentations_that_are_over(store: Store) {
    use AuthorizationState::*;
    // Authorizations expiring at T0 + 60: alone; with a code until T0 + 160; for an offer
    // waiting until T0 + 600.
    store
        .create_authorization(&new_authorization("alone"))
        .await
        .unwrap();
    store
        .create_authorization(&Authorization {
            state: CodeIssued,
            code: Some("coded.code".into()),
            code_expires_at: Some(T0 + 160),
            ..new_authorization("coded")
        })
        .await
        .unwrap();
    store
        .create_offer(&login_offer("waiting", None))
        .await
        .unwrap();
    store
        .create_authorization(&Authorization {
            offer_id: Some("waiting".into()),
            ..new_authorization("for-waiting")
        })
        .await
        .unwrap();
    // Presentations expiring at T0 + 300: for an offer waiting until T0 + 600, and for one
    // redeemed.
    let mut gated = new_offer("gated", None, T0, T0 + 600);
    gated.needs_presentation = true;
    store.create_offer(&gated).await.unwrap();
    store
        .create_presentation(&new_presentation("p-waiting", "gated"))
        .await
        .unwrap();
    redeemed(&store, "done").await;
    store
        .create_presentation(&new_presentation("p-done", "done"))
        .await
        .unwrap();
    store
        .audit_login(&LoginAudit {
            authorization_id: "for-waiting".into(),
            offer_id: Some("waiting".into()),
            at: T0 + 1,
            provider: "bcgov/bc-services-card".into(),
            subject: None,
            acr: None,
            outcome: "refused".into(),
            reason: Some("the provider answered `access_denied`".into()),
        })
        .await
        .unwrap();

    let kept = |id: &'static str| {
        let store = store.clone();
        async move { store.authorization(id).await.unwrap().is_some() }
    };
    assert_eq!(store.sweep(T0 + 59).await.unwrap(), 0);
    assert_eq!(store.sweep(T0 + 60).await.unwrap(), 1);
    assert!(!kept("alone").await);
    assert!(kept("coded").await && kept("for-waiting").await);
    assert_eq!(store.sweep(T0 + 160).await.unwrap(), 1);
    assert!(!kept("coded").await);
    // The offers still wait: their expired requests are kept.
    assert_eq!(store.sweep(T0 + 300).await.unwrap(), 1, "p-done only");
    assert!(kept("for-waiting").await);
    assert!(store.presentation("p-waiting").await.unwrap().is_some());
    assert!(store.presentation("p-done").await.unwrap().is_none());
    // Once they no longer wait (used, or expired), theirs go too.
    store.revoke_offer("waiting", T0 + 301).await.unwrap();
    assert_eq!(store.sweep(T0 + 301).await.unwrap(), 1);
    assert!(!kept("for-waiting").await);
    assert_eq!(store.sweep(T0 + 599).await.unwrap(), 0);
    assert_eq!(store.sweep(T0 + 600).await.unwrap(), 1);
    assert!(store.presentation("p-waiting").await.unwrap().is_none());
    // The offers and the audit stay.
    assert_eq!(store.logins_of_offer("waiting").await.unwrap().len(), 1);
    for id in ["waiting", "gated", "done"] {
        assert!(store.offer(id).await.unwrap().is_some(), "{id}");
    }
}

/// Two instances get the provider's callback for the same login transaction at once: exactly one
/// may move it on.
async fn race_advance_authorization(a: Store, b: Store) {
    for round in 0..5 {
        let id = format!("a{round}");
        a.create_authorization(&Authorization {
            state: AuthorizationState::LoggingIn,
            ..new_authorization(&id)
        })
        .await
        .unwrap();
        let results = race(&a, &b, |store, i| {
            let id = id.clone();
            async move {
                let mut back = step(
                    &id,
                    AuthorizationState::LoggingIn,
                    AuthorizationState::LoggedIn,
                );
                back.unexpired_at = Some(T0 + 1);
                (i, store.advance_authorization(&back).await.unwrap())
            }
        })
        .await;
        let winners = results.iter().filter(|(_, won)| *won).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
    }
}

/// Logins as several people race for one offer: exactly one is recorded, and the offer says whose.
async fn race_record_login(a: Store, b: Store) {
    for round in 0..5 {
        let id = format!("o{round}");
        a.create_offer(&login_offer(&id, None)).await.unwrap();
        let results = race(&a, &b, |store, i| {
            let id = id.clone();
            async move { (i, log_in(&store, &id, &format!("sub-{i}"), T0 + 1).await) }
        })
        .await;
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, won)| *won)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let offer = b.offer(&id).await.unwrap().unwrap();
        let winner = format!("sub-{}", winners[0]);
        assert_eq!(offer.login_subject.as_deref(), Some(winner.as_str()));
        assert!(offer.claims.contains(&winner), "{}", offer.claims);
    }
}

/// A DPoP proof replayed to two instances at once is accepted by one.
async fn race_spend_once(a: Store, b: Store) {
    for round in 0..5 {
        let key = format!("jti-{round}");
        let results = race(&a, &b, |store, i| {
            let key = key.clone();
            async move { (i, store.spend_once(&key, T0 + 60).await.unwrap()) }
        })
        .await;
        let winners = results.iter().filter(|(_, won)| *won).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
    }
}

/// PostgreSQL stopped under the store, as a crash (immediate) and as an operator (fast) would:
/// every failure meanwhile is an outage ([`StoreError::is_unavailable`], which the HTTP layer
/// answers 503 with `Retry-After`), none waits past the acquire timeout, nothing half-done is
/// kept, and the same store works again once the server is back, without reconnecting by hand.
/// A refusal of the database's own (a duplicate offer) is not an outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_unavailable_then_recovers() {
    let Some(cluster) = tokio::task::spawn_blocking(postgres::PgCluster::start_restartable)
        .await
        .unwrap()
    else {
        return;
    };
    let cluster = Arc::new(cluster);
    let url = cluster.database("outage");
    let acquire = std::time::Duration::from_secs(1);
    let store = Store::connect_with(&url, acquire).await.unwrap();
    redeemed(&store, "before").await;
    let duplicate = store
        .create_offer(&new_offer("before", None, T0, T0 + 300))
        .await
        .unwrap_err();
    assert!(!duplicate.is_unavailable(), "{duplicate}");

    for (round, how) in [postgres::Shutdown::Immediate, postgres::Shutdown::Fast]
        .into_iter()
        .enumerate()
    {
        let stopping = cluster.clone();
        tokio::task::spawn_blocking(move || stopping.stop_server(how))
            .await
            .unwrap()
            .unwrap();
        let id = format!("during-{round}");
        // The first statements may meet pooled connections the stop broke; the next find the
        // server refusing connections. Both are outages, each answered within the timeout.
        for attempt in 0..3 {
            let started = std::time::Instant::now();
            let e = store
                .create_offer(&new_offer(&id, None, T0, T0 + 300))
                .await
                .unwrap_err();
            assert!(e.is_unavailable(), "{how:?}, attempt {attempt}: {e}");
            assert!(e.to_string().contains("the database is unavailable"), "{e}");
            assert!(started.elapsed() < acquire * 3, "{:?}", started.elapsed());
        }
        let e = store
            .issue(&issuance("before", T0 + 1, &format!("nonce-{round}")))
            .await
            .unwrap_err();
        assert!(e.is_unavailable(), "{how:?}: {e}");

        let starting = cluster.clone();
        tokio::task::spawn_blocking(move || starting.start_server())
            .await
            .unwrap()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match store.offer("before").await {
                Ok(offer) => {
                    assert_eq!(offer.unwrap().state, OfferState::Redeemed);
                    break;
                }
                Err(e) => assert!(e.is_unavailable(), "after the restart: {e}"),
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the store did not recover"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // Nothing the outage refused was kept.
        assert_eq!(store.offer(&id).await.unwrap(), None);
    }
    // The offer redeemed before the outages issues once, after them.
    assert!(matches!(
        issue(&store, "before", T0 + 2, "nonce-after", true).await,
        Issued::Issued { .. }
    ));
    store.close().await;
}

/// The database holds offers' claims and codes: a file the store creates, and its WAL, are the
/// owner's only, whatever the process's umask.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_file_the_store_creates_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;

    let db = SqliteFile::new("owner_only");
    let store = connect(&db.url).await;
    store
        .create_offer(&new_offer("o", None, T0, T0 + 300))
        .await
        .unwrap();
    for path in [db.path.clone(), db.path.with_extension("db-wal")] {
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} has mode {:o}",
            path.display(),
            mode & 0o777
        );
    }
    store.close().await;
}
