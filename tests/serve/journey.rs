//! The holder's web journey (`GET /offers/{id}`), for wallets that take only pre-authorised
//! offers: the page of a Lawyer offer shows an OpenID4VP request, the holder presents the Person
//! credential to it, and the page then shows the credential offer and its transaction code, which
//! redeem like any pre-authorised offer. In process, on the province and Law Society of
//! `presentation.rs` (its world, holder and request helpers); browsers are played by requests
//! that keep or drop the page's cookie.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use trustc_runtime::domain::presentation::{ClientIdPrefix, ResponseMode};
use trustc_testkit::HolderKey;

use super::openapi::Api;
use super::presentation::{LAWSOCIETY_DID, LAWYER_VCT, World, claims_of, lawyer_facts, world};
use super::{FORM, Instance, PUBLIC_URL, Reply, local_path, pre_authorized_code};

/// A browser: the cookie it keeps from the holder's page, and the language it asks for.
#[derive(Default, Clone)]
struct Browser {
    cookie: Option<String>,
    language: Option<&'static str>,
}

impl Browser {
    fn speaking(language: &'static str) -> Browser {
        Browser {
            language: Some(language),
            ..Browser::default()
        }
    }

    async fn send(&mut self, instance: &Instance, method: &str, url: &str) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(url.strip_prefix(PUBLIC_URL).unwrap_or(url));
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(language) = self.language {
            request = request.header(header::ACCEPT_LANGUAGE, language);
        }
        if method == "POST" {
            request = request.header(header::CONTENT_TYPE, FORM);
        }
        let reply = instance.send(request.body(Body::empty()).unwrap()).await;
        if let Some(set) = reply.headers.get(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().to_owned();
            assert!(pair.starts_with("trustc_holder="), "{set}");
            self.cookie = Some(pair);
        }
        reply
    }

    async fn open(&mut self, instance: &Instance, url: &str) -> Page {
        Page::of(self.send(instance, "GET", url).await)
    }
}

/// A holder's page as the test reads it.
struct Page {
    reply: Reply,
    html: String,
}

impl Page {
    fn of(reply: Reply) -> Page {
        let html = reply.text();
        Page { reply, html }
    }

    /// The opening tag of the element with `id`.
    fn tag(&self, id: &str) -> Option<&str> {
        let at = self.html.find(&format!(" id=\"{id}\""))?;
        let start = self.html[..at].rfind('<')?;
        let end = at + self.html[at..].find('>')?;
        Some(&self.html[start..=end])
    }

    fn attribute(&self, id: &str, name: &str) -> Option<String> {
        let tag = self.tag(id)?;
        let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let to = from + tag[from..].find('"')?;
        Some(unescape(&tag[from..to]))
    }

    /// The text of the element with `id` (up to its first child element).
    fn text(&self, id: &str) -> Option<String> {
        let tag = self.tag(id)?;
        let from = self.html.find(tag)? + tag.len();
        let to = from + self.html[from..].find('<')?;
        Some(unescape(&self.html[from..to]))
    }

    fn has(&self, id: &str) -> bool {
        self.tag(id).is_some()
    }

    fn presentation_link(&self) -> String {
        self.attribute("presentation-link", "href")
            .unwrap_or_else(|| panic!("the page has a presentation link: {}", self.html))
    }

    fn refreshes(&self) -> bool {
        self.html
            .contains("<meta http-equiv=\"refresh\" content=\"3\">")
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.reply
            .headers
            .get(&name)
            .unwrap_or_else(|| panic!("the page has a `{name}` header"))
            .to_str()
            .unwrap()
    }

    /// What every holder's page must be: HTML in `language`, uncached, without scripts or a
    /// referrer, with a live status, as the OpenAPI document describes it.
    #[track_caller]
    fn assert_well_formed(&self, status: StatusCode, language: &str) {
        assert_eq!(self.reply.status, status, "{}", self.html);
        Api::load().check("get", "/offers/{id}", &self.reply);
        assert_eq!(
            self.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(self.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(self.header(header::REFERRER_POLICY), "no-referrer");
        assert_eq!(self.header(header::CONTENT_LANGUAGE), language);
        let policy = self.header(header::CONTENT_SECURITY_POLICY);
        assert!(policy.starts_with("default-src 'none'; "), "{policy}");
        assert!(!policy.contains("script-src"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(
            self.html
                .starts_with(&format!("<!DOCTYPE html>\n<html lang=\"{language}\">")),
            "{}",
            self.html
        );
        assert!(!self.html.contains("<script"), "no JavaScript");
        assert!(
            !self.html.contains(" style="),
            "styles only in the hashed <style>"
        );
        let status = self.tag("status").expect("a #status");
        assert!(
            status.contains("aria-live=\"polite\"") && status.contains("role=\"status\""),
            "{status}"
        );
        // Every image has a text alternative; every QR code is labelled.
        for (at, _) in self.html.match_indices("<img ") {
            let end = at + self.html[at..].find('>').unwrap();
            assert!(
                self.html[at..end].contains(" alt=\""),
                "{}",
                &self.html[at..end]
            );
        }
        for (at, _) in self.html.match_indices("class=\"qr\"") {
            let end = at + self.html[at..].find('>').unwrap();
            assert!(
                self.html[at..end].contains("role=\"img\" aria-label=\""),
                "{}",
                &self.html[at..end]
            );
        }
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The Law Society's Lawyer offer and the URL of its holder's page.
async fn lawyer_offer(world: &World) -> (Value, String) {
    let offer = world.society.offer("lawyer", lawyer_facts()).await;
    let page = offer["holder_page"].as_str().unwrap().to_owned();
    assert_eq!(
        page,
        format!("{PUBLIC_URL}/offers/{}", offer["id"].as_str().unwrap()),
        "the admin answer names the holder's page"
    );
    (offer, page)
}

async fn society() -> World {
    world(
        ClientIdPrefix::X509Hash,
        ResponseMode::DirectPost,
        HolderKey::es256(),
    )
    .await
}

/// The holder answers the page's request with its Person credential.
async fn present(world: &World, page: &Page) -> Reply {
    let request = world.open_request(&page.presentation_link()).await;
    let presentation = world.present(&request, &["given_names", "family_name"], |_| {});
    world
        .respond(&request, &json!({"person": [presentation]}))
        .await
}

#[tokio::test]
async fn the_page_asks_for_the_person_credential_then_shows_the_offer_that_issues_the_lawyer() {
    let world = society().await;
    let (offer, url) = lawyer_offer(&world).await;
    let mut browser = Browser::speaking("en-CA,en;q=0.9");

    let first = browser.open(&world.society, &url).await;
    first.assert_well_formed(StatusCode::OK, "en");
    assert!(first.refreshes(), "it updates itself while it waits");
    assert!(first.html.contains("<h1>Lawyer</h1>"), "{}", first.html);
    assert!(
        first
            .html
            .contains("Step 1 of 2: present your Person credential"),
        "{}",
        first.html
    );
    assert!(
        first
            .html
            .contains("The Law Society confirms your identity")
    );
    assert!(first.html.contains("<div class=\"qr\" role=\"img\""));
    assert!(!first.has("offer-link") && !first.has("tx-code"));
    let set_cookie = first.header(header::SET_COOKIE).to_owned();
    for part in ["Path=/offers/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let link = first.presentation_link();
    assert!(
        link.starts_with("openid4vp://?client_id=x509_hash%3A"),
        "{link}"
    );

    // The same browser keeps its request while it waits; another browser gets its own.
    let again = browser.open(&world.society, &url).await;
    assert_eq!(again.presentation_link(), link);
    assert!(again.reply.headers.get(header::SET_COOKIE).is_none());
    let mut other = Browser::default();
    let elsewhere = other.open(&world.society, &url).await;
    assert_ne!(elsewhere.presentation_link(), link);

    let reply = present(&world, &first).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    let back = answer["redirect_uri"].as_str().expect("a redirect_uri");
    assert!(
        back.starts_with(&format!("{url}?response_code=")),
        "a wallet on this device returns to the page: {answer}"
    );
    assert!(answer.get("presentation_during_issuance_session").is_none());

    let ready = browser.open(&world.society, &url).await;
    ready.assert_well_formed(StatusCode::OK, "en");
    assert!(!ready.refreshes());
    assert!(!ready.has("presentation-link"));
    let credential_offer = ready
        .attribute("offer-link", "href")
        .expect("an offer link");
    assert_eq!(credential_offer, offer["credential_offer"]);
    let tx_code = ready.text("tx-code").expect("the transaction code");
    assert_eq!(tx_code, offer["tx_code"]);
    assert_eq!(
        ready.text("status").unwrap(),
        "Your credential is ready: add it to your wallet."
    );

    // Another browser with the page's address does not see what the presentation unlocked...
    let other_page = other.open(&world.society, &url).await;
    other_page.assert_well_formed(StatusCode::FORBIDDEN, "en");
    assert!(!other_page.has("offer-link") && !other_page.has("tx-code"));
    assert!(!other_page.html.contains(tx_code.as_str()));
    // ...unless the wallet sends it back with the response code (same-device flow).
    let mut returned = Browser::default();
    let redirect = returned.send(&world.society, "GET", back).await;
    assert_eq!(
        redirect.status,
        StatusCode::SEE_OTHER,
        "{}",
        redirect.text()
    );
    assert_eq!(redirect.headers[header::LOCATION], url.as_str());
    assert!(returned.cookie.is_some());
    let returned_page = returned.open(&world.society, &url).await;
    assert_eq!(
        returned_page.attribute("offer-link", "href").unwrap(),
        credential_offer
    );
    // A forged response code is ignored.
    let mut forger = Browser::default();
    let forged = format!("{}x", &back[..back.len() - 1]);
    forger.send(&world.society, "GET", &forged).await;
    let forged_page = forger.open(&world.society, &url).await;
    assert_eq!(forged_page.reply.status, StatusCode::FORBIDDEN);

    // The offer from the page redeems with its transaction code, and the Lawyer credential
    // carries the Person credential's names.
    let offer_uri = url::Url::parse(&credential_offer)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "credential_offer_uri")
        .unwrap()
        .1
        .into_owned();
    let resolved = world.society.get(&local_path(&json!(offer_uri))).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text());
    let code = pre_authorized_code(&resolved.json());
    let reply = world.society.token(&code, Some(&tx_code)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let proof = world.society.fresh_proof(&world.holder).await;
    let reply = world.society.credential(&token, "lawyer", &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let lawyer = claims_of(
        reply.json()["credentials"][0]["credential"]
            .as_str()
            .unwrap(),
        world.society.issuer.key.public_jwk(),
    );
    let person = claims_of(&world.person, world.province.issuer.key.public_jwk());
    assert_eq!(lawyer["given_names"], person["given_names"]);
    assert_eq!(lawyer["family_name"], person["family_name"]);
    assert_eq!(lawyer["member_id"], "512345");
    assert_eq!(
        (&lawyer["iss"], &lawyer["vct"]),
        (&json!(LAWSOCIETY_DID), &json!(LAWYER_VCT))
    );
    let record = world.record(&offer).await;
    assert_eq!(record["state"], "issued");
    assert_eq!(record["verifications"][0]["outcome"], "verified");

    // Used: the page says so, and what to do.
    let used = browser.open(&world.society, &url).await;
    used.assert_well_formed(StatusCode::NOT_FOUND, "en");
    assert_eq!(
        used.text("status").unwrap(),
        "This offer has already been collected by a wallet."
    );
    assert!(!used.has("offer-link") && !used.has("tx-code"));
}

#[tokio::test]
async fn the_page_speaks_the_frameworks_languages_by_accept_language() {
    let world = society().await;
    let (_, url) = lawyer_offer(&world).await;
    for (accept, language, heading) in [
        (
            "fr-CA,fr;q=0.9,en;q=0.8",
            "fr",
            "Étape 1 sur 2 : présentez votre justificatif Personne",
        ),
        (
            "en;q=0.2, fr;q=0.5",
            "fr",
            "Étape 1 sur 2 : présentez votre justificatif Personne",
        ),
        (
            "fr;q=0, en",
            "en",
            "Step 1 of 2: present your Person credential",
        ),
        // Languages the framework does not have: its first locale.
        (
            "de-CH, it;q=0.8",
            "en",
            "Step 1 of 2: present your Person credential",
        ),
        ("*", "en", "Step 1 of 2: present your Person credential"),
    ] {
        let page = Browser::speaking(accept).open(&world.society, &url).await;
        page.assert_well_formed(StatusCode::OK, language);
        assert!(page.html.contains(heading), "{accept}: {}", page.html);
        let name = if language == "fr" { "Avocat" } else { "Lawyer" };
        assert!(page.html.contains(&format!("<h1>{name}</h1>")), "{accept}");
    }
    let page = Browser::default().open(&world.society, &url).await;
    page.assert_well_formed(StatusCode::OK, "en");
}

#[tokio::test]
async fn a_refused_presentation_shows_why_and_a_new_request_on_trying_again() {
    let world = society().await;
    let (offer, url) = lawyer_offer(&world).await;
    let mut browser = Browser::speaking("en");
    let first = browser.open(&world.society, &url).await;
    let request = world.open_request(&first.presentation_link()).await;
    let presentation = world.present(&request, &["given_names", "family_name"], |kb| {
        kb["nonce"] = json!("another request's nonce");
    });
    let reply = world
        .respond(&request, &json!({"person": [presentation]}))
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");

    let refused = browser.open(&world.society, &url).await;
    refused.assert_well_formed(StatusCode::OK, "en");
    assert!(!refused.refreshes(), "nothing to wait for");
    assert_eq!(
        refused.text("status").unwrap(),
        "Your presentation was not accepted."
    );
    let reason = refused.text("reason").unwrap();
    assert!(reason.contains("nonce"), "{reason}");
    assert!(
        refused
            .tag("try-again")
            .unwrap()
            .starts_with("<button type=\"submit\"")
    );
    assert!(refused.html.contains("<form method=\"post\">"));
    assert!(!refused.has("presentation-link") && !refused.has("offer-link"));
    // Reloading keeps the refusal on screen.
    let reloaded = browser.open(&world.society, &url).await;
    assert_eq!(reloaded.text("reason").unwrap(), reason);

    let retry = browser.send(&world.society, "POST", &url).await;
    assert_eq!(retry.status, StatusCode::SEE_OTHER, "{}", retry.text());
    assert_eq!(retry.headers[header::LOCATION], url.as_str());
    assert!(
        retry.headers.get(header::SET_COOKIE).is_some(),
        "a new binding"
    );
    let second = browser.open(&world.society, &url).await;
    second.assert_well_formed(StatusCode::OK, "en");
    assert_ne!(second.presentation_link(), first.presentation_link());
    let reply = present(&world, &second).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let ready = browser.open(&world.society, &url).await;
    assert_eq!(ready.text("tx-code").unwrap(), offer["tx_code"]);
    let record = world.record(&offer).await;
    let outcomes: Vec<&Value> = record["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("refused"), &json!("verified")]);
}

#[tokio::test]
async fn what_a_wallet_says_is_escaped_on_the_page() {
    let world = society().await;
    let (_, url) = lawyer_offer(&world).await;
    let mut browser = Browser::speaking("fr");
    let first = browser.open(&world.society, &url).await;
    let request = world.open_request(&first.presentation_link()).await;
    let path = request["response_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let injected = "<script>alert('x')</script><img src=x onerror=alert(1)>&amp;";
    let reply = world
        .society
        .post_form(
            &path,
            &[
                ("error", "access_denied"),
                ("error_description", injected),
                ("state", request["state"].as_str().unwrap()),
            ],
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    let refused = browser.open(&world.society, &url).await;
    refused.assert_well_formed(StatusCode::OK, "fr");
    assert_eq!(
        refused.text("status").unwrap(),
        "Votre présentation n’a pas été acceptée."
    );
    assert!(
        refused.html.contains(
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;"
        ),
        "{}",
        refused.html
    );
    assert!(!refused.html.contains("<img src=x"));
    // The reason is the verifier's, in English, and marked so.
    assert!(refused.tag("reason").unwrap().contains("lang=\"en\""));
    assert!(refused.text("reason").unwrap().contains(injected));
}

#[tokio::test]
async fn unknown_and_gone_offers_are_404_pages_that_say_what_to_do() {
    let world = society().await;
    for (language, heading, help) in [
        ("en", "Offer not found", "ask the issuer for a new one"),
        (
            "fr",
            "Offre introuvable",
            "demandez-en un nouveau à l’émetteur",
        ),
    ] {
        let page = Browser::speaking(language)
            .open(&world.society, "/offers/no-such-offer")
            .await;
        page.assert_well_formed(StatusCode::NOT_FOUND, language);
        assert!(
            page.html.contains(&format!("<h1>{heading}</h1>")),
            "{}",
            page.html
        );
        assert!(page.html.contains(help), "{}", page.html);
        assert!(page.reply.headers.get(header::SET_COOKIE).is_none());
    }
    let page = Browser::default()
        .open(&world.society, "/offers/%3Cscript%3E")
        .await;
    page.assert_well_formed(StatusCode::NOT_FOUND, "en");
    assert!(!page.html.contains("<script>"));

    let (offer, url) = lawyer_offer(&world).await;
    world.society.revoke(&offer).await;
    let withdrawn = Browser::speaking("en").open(&world.society, &url).await;
    withdrawn.assert_well_formed(StatusCode::NOT_FOUND, "en");
    assert_eq!(
        withdrawn.text("status").unwrap(),
        "The issuer has withdrawn this offer."
    );
    assert!(withdrawn.html.contains("Ask the issuer for a new offer."));
    assert!(!withdrawn.has("presentation-link"));

    let (_, url) = lawyer_offer(&world).await;
    world.society.advance(601);
    let expired = Browser::speaking("fr").open(&world.society, &url).await;
    expired.assert_well_formed(StatusCode::NOT_FOUND, "fr");
    assert_eq!(expired.text("status").unwrap(), "Cette offre a expiré.");
}

#[tokio::test]
async fn an_expired_request_is_replaced_while_the_offer_lasts() {
    let world = society().await;
    let (_, url) = lawyer_offer(&world).await;
    let mut browser = Browser::speaking("en");
    let first = browser.open(&world.society, &url).await;
    assert!(first.html.contains("This request is valid for 5 more min."));
    world.society.advance(301);
    let second = browser.open(&world.society, &url).await;
    second.assert_well_formed(StatusCode::OK, "en");
    assert_ne!(second.presentation_link(), first.presentation_link());
    // Its lifetime is what is left of the offer's.
    assert!(
        second
            .html
            .contains("This request is valid for 5 more min.")
    );
    world.society.advance(240);
    let third = browser.open(&world.society, &url).await;
    assert_eq!(third.presentation_link(), second.presentation_link());
    assert!(third.html.contains("This request is valid for 1 more min."));
}

#[tokio::test]
async fn a_credential_without_prerequisites_shows_its_offer_at_once() {
    let world = society().await;
    let offer = world.province.offer("person", super::person_claims()).await;
    let url = offer["holder_page"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:18081/offers/"), "{url}");
    let mut browser = Browser::speaking("fr");
    let path = url::Url::parse(url).unwrap().path().to_owned();
    let page = browser.open(&world.province, &path).await;
    page.assert_well_formed(StatusCode::OK, "fr");
    assert!(page.html.contains("<h1>Personne</h1>"), "{}", page.html);
    assert!(
        page.html
            .contains("<h2>Ajoutez le justificatif à votre portefeuille</h2>")
    );
    assert!(!page.refreshes());
    assert!(!page.has("presentation-link"));
    assert_eq!(
        page.attribute("offer-link", "href").unwrap(),
        offer["credential_offer"]
    );
    // The transaction code goes to the holder another way, as the governance says.
    assert!(!page.has("tx-code"));
    assert!(!page.html.contains(offer["tx_code"].as_str().unwrap()));
    assert!(page.html.contains("que l’émetteur vous envoie séparément"));
    // The governance's description of the code, in its language, marked as such.
    assert!(
        page.html
            .contains("<p lang=\"en\">Enter the 6-digit code the issuer sent to you.</p>")
    );
    assert!(browser.cookie.is_none(), "nothing to bind");
    // The province's logo is an inlined image with its alternative text.
    let logo = page
        .html
        .find("<img src=\"data:image/png;base64,")
        .expect("the logo");
    assert!(page.html[logo..].contains("alt=\"Province de la Colombie-Britannique\""));
    assert!(
        page.header(header::CONTENT_SECURITY_POLICY)
            .contains("img-src https: data:")
    );
}
