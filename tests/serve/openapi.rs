//! The OpenAPI description of the runtime (`runtime/openapi.json`, served at `/openapi.json`)
//! against the runtime itself: real answers of the router, successes and refusals, are checked
//! against what the document declares for their path, method and status (content type, required
//! headers, and the body against the response's JSON Schema, `$ref`s resolved in the document),
//! so changing an answer without the document (or the document without the code) fails here.
//! The document's routes are compared with the router's, and the document is checked for
//! dangling references, schemas that are not JSON Schema 2020-12 and examples that do not fit.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonschema::{Draft, Registry};
use serde_json::{Value, json};
use trustc_runtime::IssuerKey;
use trustc_testkit::HolderKey;

use super::{
    ADMIN_TOKEN, FORM, Instance, PUBLIC_URL, Reply, admin_request, instance, lawyer_claims,
    local_path, person_claims, pre_authorized_code,
};

/// The URI the document is registered under, so schemas can `$ref` into it.
const BASE: &str = "urn:trustc:openapi";

/// The routes `trustc_runtime::router` serves (below the issuer identifier's path): keep in step
/// with `runtime/src/http/mod.rs`. The document must describe exactly these.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/admin/offers"),
    ("get", "/admin/offers/{id}"),
    ("post", "/admin/offers/{id}/revoke"),
    ("get", "/credential-offers/{id}"),
    ("post", "/token"),
    ("post", "/authorize-challenge"),
    ("get", "/presentations/{id}/request"),
    ("post", "/presentations/{id}/request"),
    ("post", "/presentations/{id}/response"),
    ("get", "/offers/{id}"),
    ("post", "/offers/{id}"),
    ("get", "/offers/{id}/login"),
    ("post", "/par"),
    ("get", "/authorize"),
    ("get", "/login/callback"),
    ("get", "/login/retry"),
    ("get", "/login/jwks"),
    ("get", "/credentials/{credential}"),
    ("get", "/credentials/{credential}/login"),
    ("post", "/nonce"),
    ("post", "/credential"),
    ("get", "/status-lists/{id}"),
    ("get", "/.well-known/openid-credential-issuer"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/jwt-vc-issuer"),
    ("get", "/.well-known/did.json"),
    ("get", "/health"),
    ("get", "/openapi.json"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The OpenAPI document and a registry that holds it, for validators that `$ref` into it.
pub(super) struct Api {
    doc: Value,
    registry: Registry<'static>,
}

impl Api {
    pub(super) fn load() -> Api {
        let doc: Value = serde_json::from_str(trustc_runtime::http::OPENAPI)
            .expect("runtime/openapi.json is JSON");
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(BASE, doc.clone())
            .expect("the base URI is valid")
            .prepare()
            .expect("the document is a resource");
        Api { doc, registry }
    }

    /// The value at a JSON pointer of the document, following an OpenAPI `$ref` (response,
    /// header…) there; returns it with the pointer it was found at.
    #[track_caller]
    fn at(&self, pointer: &str) -> (String, &Value) {
        let value = self
            .doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the document has nothing at `{pointer}`"));
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => {
                let target = target
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("`{pointer}` refers outside the document"));
                self.at(target)
            }
            None => (pointer.to_string(), value),
        }
    }

    /// Why `instance` does not fit the schema at `pointer` (empty when it fits).
    fn violations(&self, pointer: &str, instance: &Value) -> Vec<String> {
        let schema = json!({"$ref": format!("{BASE}#{}", fragment(pointer))});
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("the schema at `{pointer}` compiles: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect()
    }

    /// Asserts a request body the runtime accepted fits the document's request schema.
    #[track_caller]
    fn accepts(&self, method: &str, path: &str, media: &str, body: &Value) {
        let schema = format!(
            "/paths/{}/{method}/requestBody/content/{}/schema",
            escape(path),
            escape(media)
        );
        let violations = self.violations(&schema, body);
        assert!(
            violations.is_empty(),
            "{method} {path}: the accepted request {body} does not fit the document: {violations:?}"
        );
    }

    /// Asserts `reply` is an answer the document declares for `method` `path` (a path of the
    /// document, such as `/admin/offers/{id}`): its status is documented, its content type is
    /// one the response lists, its required headers are present and fit their schemas, and its
    /// body fits the response schema. Returns the body (JSON, or the text as a JSON string).
    #[track_caller]
    pub(super) fn check(&self, method: &str, path: &str, reply: &Reply) -> Value {
        let operation = format!("/paths/{}/{method}", escape(path));
        assert!(
            self.doc.pointer(&operation).is_some(),
            "the document has no operation {method} {path}"
        );
        let status = reply.status.as_u16().to_string();
        let declared = format!("{operation}/responses/{status}");
        assert!(
            self.doc.pointer(&declared).is_some(),
            "the document declares no {status} answer for {method} {path}; the answer was: {}",
            reply.text()
        );
        let (response, response_value) = self.at(&declared);
        let what = format!("{method} {path} {status}");

        let content_type = reply
            .headers
            .get(header::CONTENT_TYPE)
            .unwrap_or_else(|| panic!("{what}: the answer has no content type"))
            .to_str()
            .unwrap();
        let media = content_type.split(';').next().unwrap().trim();
        let content = response_value["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: the document declares no content"));
        assert!(
            content.contains_key(media),
            "{what}: the answer is `{content_type}` but the document declares {:?}",
            content.keys().collect::<Vec<_>>()
        );
        let body = if media == "application/json" || media.ends_with("+json") {
            reply.json()
        } else {
            Value::String(reply.text())
        };
        let schema = format!("{response}/content/{}/schema", escape(media));
        let violations = self.violations(&schema, &body);
        assert!(
            violations.is_empty(),
            "{what}: the body does not fit the document's schema:\n  {}\nbody: {body:#}",
            violations.join("\n  ")
        );

        if let Some(headers) = response_value.get("headers").and_then(Value::as_object) {
            for name in headers.keys() {
                let (declared, header) = self.at(&format!("{response}/headers/{}", escape(name)));
                let value = reply.headers.get(name.as_str());
                if header["required"] != json!(true) && value.is_none() {
                    continue;
                }
                let value = value
                    .unwrap_or_else(|| panic!("{what}: the answer has no `{name}` header"))
                    .to_str()
                    .unwrap();
                let violations =
                    self.violations(&format!("{declared}/schema"), &Value::from(value));
                assert!(
                    violations.is_empty(),
                    "{what}: header `{name}: {value}` does not fit the document: {violations:?}"
                );
            }
        }
        body
    }
}

/// A JSON pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment (percent-encoded beyond the unreserved characters and `/`).
fn fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every `$ref` of `value`, with where it is.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref"
                    && let Some(target) = child.as_str()
                {
                    found.push((at.clone(), target));
                }
                refs(child, format!("{at}/{}", escape(key)), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The pointers of every Schema Object of the document (those of `components/schemas` and every
/// `schema` of a parameter, header or media type).
fn schemas(doc: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{at}/{}", escape(key));
                    if (key == "schema" && child.is_object()) || at == "/components/schemas" {
                        found.push(here);
                    } else {
                        walk(child, here, found);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(doc, String::new(), &mut found);
    found
}

/// The operations of the document: (method, path) → operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut found = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                found.insert((method.clone(), path.clone()), operation);
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_is_a_well_formed_openapi_3_1_description() {
    let api = Api::load();
    let doc = &api.doc;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "trustc serve");
    assert_eq!(doc["info"]["version"], "1");
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("TRUSTC_ADMIN_TOKEN")
    );
    assert_eq!(doc["servers"][0]["url"], "/");
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        BTreeSet::from([
            "admin",
            "openid4vci",
            "openid4vp",
            "login",
            "holder",
            "metadata",
            "status",
            "operations"
        ])
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in ["adminToken", "accessToken"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }

    // Every reference points into the document.
    let mut found = Vec::new();
    refs(doc, String::new(), &mut found);
    assert!(!found.is_empty());
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("`{at}`: `{target}` is not a reference into the document"));
        assert!(
            doc.pointer(pointer).is_some(),
            "`{at}`: `{target}` resolves to nothing"
        );
    }

    // Every schema is a JSON Schema 2020-12 schema and compiles with the document's references.
    let pointers = schemas(doc);
    assert!(pointers.len() > 40, "{pointers:?}");
    for pointer in &pointers {
        let schema = doc.pointer(pointer).unwrap();
        if let Err(error) = jsonschema::draft202012::meta::validate(schema) {
            panic!("`{pointer}` is not a JSON Schema 2020-12 schema: {error}");
        }
        api.violations(pointer, &Value::Null);
    }

    // Operations: unique ids, declared tags and security schemes, every path parameter declared.
    let mut ids = BTreeSet::new();
    for ((method, path), operation) in operations(doc) {
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id), "operationId `{id}` is repeated");
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has a summary"
        );
        for tag in operation["tags"].as_array().expect("tags") {
            assert!(
                tags.contains(tag.as_str().unwrap()),
                "{method} {path}: tag {tag}"
            );
        }
        let expected = if path.starts_with("/admin/") {
            json!([{"adminToken": []}])
        } else if path == "/credential" {
            json!([{"accessToken": []}, {"dpopAccessToken": []}])
        } else {
            json!([])
        };
        assert_eq!(operation["security"], expected, "{method} {path}");
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
        let parameters: Vec<&Value> = doc["paths"][&path]["parameters"]
            .as_array()
            .into_iter()
            .chain(operation["parameters"].as_array())
            .flatten()
            .collect();
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{method} {path}: path parameter `{name}` is declared"
                );
            }
        }
        assert!(
            !operation["responses"].as_object().unwrap().is_empty(),
            "{method} {path} has responses"
        );
    }

    // Every example fits its schema.
    let mut examples = 0;
    for pointer in pointers.iter().filter(|p| p.ends_with("/schema")) {
        let media = doc
            .pointer(&pointer[..pointer.len() - "/schema".len()])
            .unwrap();
        for (name, example) in media["examples"].as_object().into_iter().flatten() {
            let violations = api.violations(pointer, &example["value"]);
            assert!(
                violations.is_empty(),
                "example `{name}` of `{pointer}` does not fit: {violations:?}"
            );
            examples += 1;
        }
    }
    assert!(examples >= 4, "the document has examples ({examples})");
    let lawyer = &doc["paths"]["/admin/offers"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"]["lawyer"]["value"];
    assert_eq!(lawyer["claims"], lawyer_claims());

    // The validator really validates: an answer changed in shape no longer fits.
    let created = "/paths/~1admin~1offers/post/responses/201/content/application~1json/schema";
    let answer = json!({
        "id": "019ae4c3f2a1Kx7dQp2vN9sLw4Rt0aB3cE",
        "credential_offer": "openid-credential-offer://?credential_offer_uri=x",
        "credential_offer_uri": "https://issuer.example/credential-offers/019ae4c3f2a1Kx7dQp2vN9sLw4Rt0aB3cE",
        "tx_code": "123456",
        "expires_at": 1,
        "holder_page": "https://issuer.example/offers/019ae4c3f2a1Kx7dQp2vN9sLw4Rt0aB3cE"
    });
    assert_eq!(api.violations(created, &answer), Vec::<String>::new());
    let mut extra = answer.clone();
    extra["claims"] = json!({});
    assert!(!api.violations(created, &extra).is_empty());
    let mut missing = answer.clone();
    missing.as_object_mut().unwrap().remove("expires_at");
    assert!(!api.violations(created, &missing).is_empty());
    let mut not_a_uri = answer.clone();
    not_a_uri["credential_offer_uri"] = json!("not a URI");
    assert!(
        !api.violations(created, &not_a_uri).is_empty(),
        "formats are checked"
    );
    let refused =
        "/paths/~1admin~1offers/post/responses/422/content/application~1problem+json/schema";
    let problem = json!({"type": "urn:trustc:problem:invalid-offer", "title": "t", "status": 422,
                         "detail": "d", "claims": [{"claim": "c", "problem": "odd", "detail": "d"}]});
    assert!(!api.violations(refused, &problem).is_empty());
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_answers() {
    let api = Api::load();
    let documented: BTreeSet<(String, String)> = operations(&api.doc).into_keys().collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, routes,
        "the document's operations are the router's routes"
    );

    let instance = instance().await;
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        let concrete = path.replace("{id}", "1");
        for method in ["get", "post", "put", "patch", "delete"] {
            let request = admin_request(&method.to_uppercase(), &concrete);
            let reply = instance.send(request).await;
            // (The holder's page answers an unknown offer with an HTML page, not JSON.)
            let fallback = reply.status == StatusCode::NOT_FOUND
                && serde_json::from_slice::<Value>(&reply.body).is_ok_and(|b| b.is_object())
                && reply.json()["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("nothing is served at"));
            if routes.contains(&(method.to_string(), path.to_string())) {
                assert!(
                    !fallback && reply.status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {concrete} is documented but answers {}: {}",
                    reply.status,
                    reply.text()
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {concrete} is not documented but answers: {}",
                    reply.text()
                );
            }
        }
    }
    // Anything else is the fallback, a problem details 404.
    let reply = instance.get("/admin").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

#[tokio::test]
async fn admin_answers_fit_the_document() {
    let api = Api::load();
    let instance = instance().await;
    let create = |bearer: Option<&'static str>, body: Value| {
        let instance = &instance;
        async move { instance.post_json("/admin/offers", bearer, &body).await }
    };

    // 201, with the document's own example request.
    let example = api.doc["paths"]["/admin/offers"]["post"]["requestBody"]["content"]
        ["application/json"]["examples"]["lawyer"]["value"]
        .clone();
    let reply = create(Some(ADMIN_TOKEN), example).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let lawyer = api.check("post", "/admin/offers", &reply);
    assert!(lawyer["tx_code"].is_string());
    let person = json!({"credential": "person", "claims": person_claims(), "tx_code": null});
    let reply = create(Some(ADMIN_TOKEN), person.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    api.check("post", "/admin/offers", &reply);
    api.accepts("post", "/admin/offers", "application/json", &person);

    // 422: the document's example of claims outside the governance gets the document's example
    // answer; a changed constant, an unknown credential type and a waived tx_code are 422 too.
    let create_offer = &api.doc["paths"]["/admin/offers"]["post"];
    let invalid = create_offer["requestBody"]["content"]["application/json"]["examples"]
        ["lawyer-invalid"]["value"]
        .clone();
    let reply = create(Some(ADMIN_TOKEN), invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = api.check("post", "/admin/offers", &reply);
    assert_eq!(
        problem,
        create_offer["responses"]["422"]["content"]["application/problem+json"]["examples"]["claims"]
            ["value"],
        "the document's 422 example is what the runtime answers"
    );
    let mut claims = person_claims();
    claims["region"] = json!("ON");
    let reply = create(
        Some(ADMIN_TOKEN),
        json!({"credential": "person", "claims": claims}),
    )
    .await;
    assert_eq!(
        api.check("post", "/admin/offers", &reply)["claims"][0]["problem"],
        "fixed"
    );
    for body in [
        json!({"credential": "driver-licence", "claims": {}}),
        json!({"credential": "person", "claims": person_claims(), "tx_code": false}),
    ] {
        let reply = create(Some(ADMIN_TOKEN), body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            api.check("post", "/admin/offers", &reply)
                .get("claims")
                .is_none()
        );
    }

    // 401 without the token or with another one.
    for bearer in [None, Some("wrong-token-wrong-token")] {
        let reply = create(bearer, json!({"credential": "person"})).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        api.check("post", "/admin/offers", &reply);
    }

    // 400: not JSON, not an object, an unknown member, a member of the wrong type.
    let not_json = instance
        .post(
            "/admin/offers",
            None,
            Some(ADMIN_TOKEN),
            "{\"credential\": ",
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    api.check("post", "/admin/offers", &not_json);
    for body in [
        json!(["person"]),
        json!({"credential": "person", "holder": "x"}),
        json!({"credential": 7}),
        json!({"credential": "person", "claims": null}),
        json!({"credential": "person", "tx_code": "yes"}),
    ] {
        let reply = create(Some(ADMIN_TOKEN), body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        api.check("post", "/admin/offers", &reply);
    }

    // 413: a body over the limit.
    let big = json!({"credential": "person", "claims": {"given_names": "x".repeat(70_000)}});
    let reply = create(Some(ADMIN_TOKEN), big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let problem = api.check("post", "/admin/offers", &reply);
    assert_eq!(problem["type"], "urn:trustc:problem:payload-too-large");
    assert!(
        problem["detail"].as_str().unwrap().contains("64 KiB"),
        "{problem}"
    );

    // The offer's view, 401 and 404.
    let id = lawyer["id"].as_str().unwrap();
    let view = instance
        .send(admin_request("GET", &format!("/admin/offers/{id}")))
        .await;
    let view = api.check("get", "/admin/offers/{id}", &view);
    assert_eq!(view["state"], "offered");
    let reply = instance.get(&format!("/admin/offers/{id}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    api.check("get", "/admin/offers/{id}", &reply);
    let reply = instance
        .send(admin_request("GET", "/admin/offers/unknown"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    api.check("get", "/admin/offers/{id}", &reply);

    // Revoke: 200, 401, 404.
    let reply = instance
        .send(admin_request("POST", &format!("/admin/offers/{id}/revoke")))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let revoked = api.check("post", "/admin/offers/{id}/revoke", &reply);
    assert_eq!(revoked["state"], "revoked");
    assert!(revoked["revoked_at"].is_i64());
    let reply = instance
        .send(
            Request::post(format!("/admin/offers/{id}/revoke"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    api.check("post", "/admin/offers/{id}/revoke", &reply);
    let reply = instance
        .send(admin_request("POST", "/admin/offers/unknown/revoke"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    api.check("post", "/admin/offers/{id}/revoke", &reply);

    // An offer left to expire.
    let offer = instance.offer("person", person_claims()).await;
    instance.advance(601);
    let reply = instance
        .send(admin_request(
            "GET",
            &format!("/admin/offers/{}", offer["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(
        api.check("get", "/admin/offers/{id}", &reply)["state"],
        "expired"
    );
}

#[tokio::test]
async fn wallet_answers_fit_the_document() {
    let api = Api::load();
    let instance = instance().await;
    let holder = HolderKey::es256();
    let offer = instance.offer("person", person_claims()).await;
    let id = offer["id"].as_str().unwrap();

    // The credential offer by reference, and an unknown one.
    let reply = instance
        .get(&local_path(&offer["credential_offer_uri"]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let resolved = api.check("get", "/credential-offers/{id}", &reply);
    assert!(
        resolved["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]
            .is_object()
    );
    let reply = instance.get("/credential-offers/unknown").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    api.check("get", "/credential-offers/{id}", &reply);

    // Token: refusals, then success.
    let code = pre_authorized_code(&resolved);
    let tx_code = offer["tx_code"].as_str().unwrap();
    let refusals = [
        instance.token("not-a-code", Some(tx_code)).await,
        instance.token(&code, Some("wrong!")).await,
        instance.token(&code, None).await,
        instance
            .post_form("/token", &[("grant_type", "password")])
            .await,
        instance
            .post_json("/token", None, &json!({"grant_type": "x"}))
            .await,
        instance
            .post("/token", Some(FORM), None, "grant_type=a&grant_type=b")
            .await,
    ];
    let mut errors = BTreeSet::new();
    for reply in &refusals {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        let body = api.check("post", "/token", reply);
        errors.insert(body["error"].as_str().unwrap().to_string());
    }
    assert_eq!(
        errors,
        BTreeSet::from(
            ["invalid_grant", "invalid_request", "unsupported_grant_type"].map(String::from)
        )
    );
    // A body declared over the limit is refused before it is read, as a problem too.
    let big = "x".repeat(70_000);
    let reply = instance
        .send(
            Request::post("/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let problem = api.check("post", "/token", &reply);
    assert_eq!(problem["type"], "urn:trustc:problem:payload-too-large");
    let reply = instance.token(&code, Some(tx_code)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let form = json!({
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "pre-authorized_code": code,
        "tx_code": tx_code
    });
    api.accepts("post", "/token", "application/x-www-form-urlencoded", &form);
    let token = api.check("post", "/token", &reply)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = instance.token(&code, Some(tx_code)).await;
    assert_eq!(
        api.check("post", "/token", &reply)["error"],
        "invalid_grant"
    );

    // Nonce.
    let nonce_request = || Request::post("/nonce").body(Body::empty()).unwrap();
    let reply = instance.send(nonce_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let nonce = api.check("post", "/nonce", &reply)["c_nonce"]
        .as_str()
        .unwrap()
        .to_string();

    // Credential: 401s, 400s, then success, then denied.
    let proof = holder.proof(PUBLIC_URL, Some(&nonce), instance.now());
    let request = json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]}});
    for bearer in [None, Some("made-up")] {
        let reply = instance.post_json("/credential", bearer, &request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        api.check("post", "/credential", &reply);
    }
    let no_nonce = holder.proof(PUBLIC_URL, None, instance.now());
    let unknown_nonce = holder.proof(PUBLIC_URL, Some("never-issued"), instance.now());
    let bodies = [
        json!({"credential_configuration_id": "person", "proofs": {"jwt": [no_nonce]}}),
        json!({"credential_configuration_id": "person", "proofs": {"jwt": [unknown_nonce]}}),
        json!({"credential_configuration_id": "driver-licence", "proofs": {"jwt": [proof]}}),
        json!({"credential_identifier": "x", "proofs": {"jwt": [proof]}}),
        json!({"credential_configuration_id": "lawyer", "proofs": {"jwt": [proof]}}),
        json!({"credential_configuration_id": "person", "proof": {"proof_type": "jwt", "jwt": proof}}),
        json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]},
               "credential_response_encryption": {"alg": "ECDH-ES", "enc": "A128GCM"}}),
    ];
    for body in &bodies {
        let reply = instance.post_json("/credential", Some(&token), body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        errors.insert(
            api.check("post", "/credential", &reply)["error"]
                .as_str()
                .unwrap()
                .into(),
        );
    }
    let reply = instance
        .post_json(&format!("/credential?access_token={token}"), None, &request)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    api.check("post", "/credential", &reply);
    assert!(errors.contains("invalid_nonce") && errors.contains("invalid_encryption_parameters"));

    let reply = instance.credential(&token, "person", &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    api.check("post", "/credential", &reply);
    api.accepts("post", "/credential", "application/json", &request);
    // A batch: one credential per key, in one answer.
    let nonce = instance.nonce().await;
    let now = instance.now();
    let batch: Vec<String> = [HolderKey::es256(), HolderKey::ed25519()]
        .iter()
        .map(|key| key.proof(PUBLIC_URL, Some(&nonce), now))
        .collect();
    let body = json!({"credential_configuration_id": "person", "proofs": {"jwt": batch}});
    api.accepts("post", "/credential", "application/json", &body);
    let reply = instance.post_json("/credential", Some(&token), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = api.check("post", "/credential", &reply);
    assert_eq!(answer["credentials"].as_array().map(Vec::len), Some(2));

    // What the offer issued, its status list, and the revocation that shows in it.
    let view = instance
        .send(admin_request("GET", &format!("/admin/offers/{id}")))
        .await;
    let view = api.check("get", "/admin/offers/{id}", &view);
    assert_eq!(view["state"], "issued");
    let entry = &view["credentials"][0]["status_list"];
    let list = local_path(&entry["uri"]);
    let reply = instance.get(&list).await;
    assert_eq!(reply.status, StatusCode::OK);
    api.check("get", "/status-lists/{id}", &reply);
    let reply = instance
        .send(admin_request("POST", &format!("/admin/offers/{id}/revoke")))
        .await;
    let revoked = api.check("post", "/admin/offers/{id}/revoke", &reply);
    assert_eq!(revoked["credentials"][0]["revoked"], true);
    api.check("get", "/status-lists/{id}", &instance.get(&list).await);
    for missing in ["/status-lists/99", "/status-lists/first"] {
        let reply = instance.get(missing).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        api.check("get", "/status-lists/{id}", &reply);
    }

    // Expired access tokens are 401.
    let other = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&other).await;
    instance.advance(301);
    let reply = instance.credential(&token, "person", &proof).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    api.check("post", "/credential", &reply);
}

#[tokio::test]
async fn metadata_and_operations_answers_fit_the_document() {
    let api = Api::load();
    let instance = instance().await;
    for path in [
        "/.well-known/openid-credential-issuer",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwt-vc-issuer",
        "/health",
        "/openapi.json",
    ] {
        let reply = instance.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        api.check("get", path, &reply);
    }
    let served = instance.get("/openapi.json").await;
    assert_eq!(served.text(), trustc_runtime::http::OPENAPI);
    // A database that cannot be reached: the health check says so (503), as documented.
    instance.issuer.close().await;
    let down = instance.get("/health").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = api.check("get", "/health", &down);
    assert_eq!(body, json!({"status": "unavailable", "database": "sqlite"}));

    // An issuer identifier with a path: routes below it, well-knowns with the path inserted.
    let public = "https://issuer.example/lsbc";
    let instance = Instance::start_at("sqlite::memory:", IssuerKey::generate(), public).await;
    for name in [
        "openid-credential-issuer",
        "oauth-authorization-server",
        "jwt-vc-issuer",
    ] {
        let path = format!("/.well-known/{name}");
        for served in [format!("{path}/lsbc"), format!("/lsbc{path}")] {
            let reply = instance.get(&served).await;
            assert_eq!(reply.status, StatusCode::OK, "{served}");
            api.check("get", &path, &reply);
        }
    }
    let reply = instance
        .send(Request::post("/lsbc/nonce").body(Body::empty()).unwrap())
        .await;
    api.check("post", "/nonce", &reply);
}
