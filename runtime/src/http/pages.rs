//! The holder's web page of an offer (`GET /offers/{id}`), for wallets that take only
//! pre-authorised offers: server-rendered HTML in the framework's languages (`Accept-Language`),
//! with the credential's branding, QR codes drawn here as inline SVG, no JavaScript (it refreshes
//! itself while it waits for the presentation), and a strict Content-Security-Policy.
//! [`crate::domain::journey`] decides what the page shows; this module only writes it.
//!
//! Everything interpolated into the page goes through [`escape`]. The browser's binding to its
//! presentation request is an `HttpOnly`, `SameSite=Lax` cookie scoped to the page's path.

mod texts;

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::errors::{STORE_RETRY_AFTER, set_retry_after};
use crate::domain::Issuer;
use crate::domain::journey::{
    Gone, HOLDER_PAGES_PATH, HolderPage, HolderView, HolderVisit, RESPONSE_CODE_PARAMETER,
};
use crate::domain::offers::LookupError;
use texts::Texts;

/// The cookie that binds a browser to its presentation request.
const BINDING_COOKIE: &str = "trustc_holder";
/// The cookie that binds a browser to the login it started (the whole issuer's path: the
/// provider sends the browser back to `/login/callback`, and the holder's pages read it too).
pub(super) const LOGIN_COOKIE: &str = "trustc_login";
/// How often the page reloads itself while it waits, in seconds.
const REFRESH_SECONDS: u32 = 3;
/// The query that stops the page reloading itself (WCAG 2.2.1: timing adjustable).
const NO_REFRESH: &str = "refresh=off";

/// `GET /offers/{id}`: the page. A wallet's redirect back (`?response_code=…`) is adopted as the
/// browser's binding and answered with a redirect to the page's plain address.
pub async fn holder_page(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let response_code = field(RESPONSE_CODE_PARAMETER);
    let refresh = field("refresh") != Some("off");
    let browser = binding_cookie(&headers);
    let login = cookie(&headers, LOGIN_COOKIE);
    let visit = HolderVisit {
        offer_id: &id,
        browser: browser.as_deref(),
        response_code,
        try_again: false,
        login: login.as_deref(),
    };
    match issuer.holder_page(visit).await {
        Ok(HolderView {
            page: HolderPage::ToWallet { url },
            ..
        }) => redirect(&url),
        Ok(view) if response_code.is_some() => see_page(&issuer, &id, &view),
        Ok(view) => {
            let cookie = view
                .browser
                .as_ref()
                .map(|b| set_cookie(&issuer, &id, b, &view));
            let mut response = render(&issuer, &id, &view, &headers, refresh);
            if let Some(cookie) = cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(e) => failure(&issuer, &headers, e),
    }
}

/// `POST /offers/{id}`: after a refusal, a new request for this browser; then back to the page.
pub async fn try_again(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let browser = binding_cookie(&headers);
    let login = cookie(&headers, LOGIN_COOKIE);
    let visit = HolderVisit {
        offer_id: &id,
        browser: browser.as_deref(),
        response_code: None,
        try_again: true,
        login: login.as_deref(),
    };
    match issuer.holder_page(visit).await {
        Ok(view) => see_page(&issuer, &id, &view),
        Err(e) => failure(&issuer, &headers, e),
    }
}

/// 303 to `location`, not cached and not telling where the browser came from.
pub(super) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(location) => {
            headers.insert(header::LOCATION, location);
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// 303 to the page's own address, keeping the browser's new binding.
fn see_page(issuer: &Issuer, id: &str, view: &HolderView) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&issuer.holder_page_url(id)) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(binding) = &view.browser {
        headers.append(header::SET_COOKIE, set_cookie(issuer, id, binding, view));
    }
    response
}

fn failure(issuer: &Issuer, headers: &HeaderMap, error: LookupError) -> Response {
    let locale = choose_locale(
        header_text(headers, header::ACCEPT_LANGUAGE),
        &issuer.holder_locales(None),
    );
    let texts = texts::of(&locale).unwrap_or(&texts::EN);
    let mut page = Page::new(&locale, None);
    match error {
        LookupError::NotFound => {
            page.heading = texts.not_found_heading.into();
            page.alert = true;
            page.status(texts.not_found);
            page.paragraph(texts.not_found_help);
            page.finish(StatusCode::NOT_FOUND)
        }
        LookupError::Internal(cause) => {
            page.heading = texts.failed_heading.into();
            page.alert = true;
            // "Try again in a moment": right for both, and what a database outage needs.
            page.status(texts.failed);
            if cause.is_unavailable() {
                tracing::warn!(%cause, "the holder's page failed: the database is unavailable");
                let mut response = page.finish(StatusCode::SERVICE_UNAVAILABLE);
                set_retry_after(response.headers_mut(), Some(STORE_RETRY_AFTER));
                response
            } else {
                tracing::error!(%cause, "the holder's page failed");
                page.finish(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The page of `view`.
fn render(
    issuer: &Issuer,
    id: &str,
    view: &HolderView,
    headers: &HeaderMap,
    refresh: bool,
) -> Response {
    let locales = issuer.holder_locales(Some(&view.credential));
    let locale = choose_locale(header_text(headers, header::ACCEPT_LANGUAGE), &locales);
    let texts = texts::of(&locale).unwrap_or(&texts::EN);
    let display = issuer.credential_display(&view.credential, &locale);
    let mut page = Page::new(&locale, Some(Brand::of(display, texts)));
    let prerequisites = issuer.prerequisite_texts(&view.credential, &locale);
    let names = prerequisites
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let fill = |text: &str| text.replace("{name}", &names);
    let own_link = escape(id);
    let status = match &view.page {
        HolderPage::Present {
            request_url,
            expires_at,
        } => {
            page.heading = fill(texts.step_present);
            page.refresh = refresh;
            page.status(&fill(if refresh {
                texts.waiting
            } else {
                texts.waiting_manual
            }));
            page.paragraph(&fill(texts.present_intro));
            for purpose in prerequisites.iter().filter_map(|p| p.purpose.as_deref()) {
                page.paragraph(purpose);
            }
            page.qr_and_link(
                request_url,
                "presentation-link",
                texts.scan,
                texts.qr_request,
                texts.open_request,
                texts,
            );
            let minutes = ((expires_at - issuer.clock.now()).max(0) + 59) / 60;
            page.paragraph(&texts.valid_for.replace("{minutes}", &minutes.to_string()));
            page.refresh_controls(&own_link, refresh, texts);
            StatusCode::OK
        }
        HolderPage::Checking => {
            page.heading = fill(texts.step_present);
            page.refresh = refresh;
            page.status(texts.checking);
            page.refresh_controls(&own_link, refresh, texts);
            StatusCode::OK
        }
        HolderPage::Refused { reason } => {
            page.heading = fill(texts.step_present);
            page.alert = true;
            page.status(texts.refused);
            let _ = write!(
                page.body,
                "<p>{} <span class=\"reason\" lang=\"en\" id=\"reason\">{}</span></p>",
                escape(texts.refused_reason),
                escape(reason)
            );
            page.paragraph(texts.try_again_intro);
            let _ = write!(
                page.body,
                "<form method=\"post\"><button type=\"submit\" id=\"try-again\">{}</button></form>",
                escape(texts.try_again)
            );
            StatusCode::OK
        }
        HolderPage::Offer {
            credential_offer,
            tx_code,
            tx_code_required,
            tx_code_description,
        } => {
            page.heading = if prerequisites.is_empty() {
                texts.offer_heading.into()
            } else {
                texts.step_offer.into()
            };
            page.status(texts.ready);
            page.qr_and_link(
                credential_offer,
                "offer-link",
                texts.scan_offer,
                texts.qr_offer,
                texts.open_offer,
                texts,
            );
            match tx_code {
                Some(code) => {
                    let _ = write!(
                        page.body,
                        "<h3 id=\"tx-code-label\">{}</h3><p class=\"code\" id=\"tx-code\" \
                         aria-labelledby=\"tx-code-label\">{}</p><p>{}</p>",
                        escape(texts.tx_code),
                        escape(code),
                        escape(texts.tx_code_shown)
                    );
                }
                None if *tx_code_required => {
                    page.paragraph(texts.tx_code_separate);
                    if let Some(description) = tx_code_description {
                        // The governance writes it once, in the framework's first language.
                        let language = locales.first().map_or("en", String::as_str);
                        page.paragraph_in(description, language);
                    }
                }
                None => {}
            }
            StatusCode::OK
        }
        HolderPage::PresentedElsewhere => {
            page.heading = texts.elsewhere_heading.into();
            page.alert = true;
            page.status(texts.elsewhere);
            page.paragraph(texts.elsewhere_help);
            StatusCode::FORBIDDEN
        }
        HolderPage::SignIn { provider, url } => {
            let provider = issuer.login_provider_name(provider, &locale);
            page.heading = texts.sign_in_heading.into();
            page.status(&texts.sign_in_intro.replace("{provider}", &provider));
            for purpose in prerequisites.iter().filter_map(|p| p.purpose.as_deref()) {
                page.paragraph(purpose);
            }
            let _ = write!(
                page.body,
                "<p><a class=\"button\" id=\"sign-in\" href=\"{}\">{}</a></p>",
                escape(url),
                escape(&texts.sign_in.replace("{provider}", &provider))
            );
            StatusCode::OK
        }
        HolderPage::ToWallet { url } => {
            page.heading = texts.to_wallet_heading.into();
            page.status(texts.to_wallet);
            let _ = write!(
                page.body,
                "<p><a class=\"button\" id=\"to-wallet\" href=\"{}\">{}</a></p>",
                escape(url),
                escape(texts.to_wallet_link)
            );
            StatusCode::OK
        }
        HolderPage::BackToWallet => {
            page.heading = texts.to_wallet_heading.into();
            page.status(texts.to_wallet);
            StatusCode::OK
        }
        HolderPage::Gone(gone) => {
            page.heading = texts.gone_heading.into();
            page.alert = true;
            let (why, help) = match gone {
                Gone::Used => (texts.used, texts.used_help),
                Gone::Withdrawn => (texts.withdrawn, texts.new_offer_help),
                Gone::Expired => (texts.expired, texts.new_offer_help),
                Gone::Locked => (texts.locked, texts.new_offer_help),
            };
            page.status(why);
            page.paragraph(help);
            StatusCode::NOT_FOUND
        }
        HolderPage::Busy { retry_after } => {
            page.heading = texts.busy_heading.into();
            page.alert = true;
            page.status(&texts.busy.replace("{seconds}", &retry_after.to_string()));
            StatusCode::TOO_MANY_REQUESTS
        }
    };
    let mut response = page.finish(status);
    if let HolderPage::Busy { retry_after } = &view.page {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from((*retry_after).max(1)),
        );
    }
    response
}

/// The browser's binding from its cookie.
fn binding_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, BINDING_COOKIE)
}

/// The value of cookie `name`.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// `Set-Cookie` for the login binding: the whole issuer's path, not readable by scripts, sent
/// on the provider's top-level redirect back (`SameSite=Lax`), `Secure` behind https.
pub(super) fn set_login_cookie(issuer: &Issuer, binding: &str, expires_at: i64) -> HeaderValue {
    let path = match super::url_path(&issuer.settings.public_url).as_str() {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    let max_age = (expires_at - issuer.clock.now()).max(0);
    let secure = if issuer.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={binding}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("trustc_login=; Max-Age=0"))
}

/// The page of a login that could not go on: why, and what to do (`retry`: a link that tries
/// again). `status` is the page's HTTP status.
pub(super) fn login_problem(
    issuer: &Issuer,
    headers: &HeaderMap,
    credential: Option<&str>,
    problem: LoginProblem<'_>,
    status: StatusCode,
) -> Response {
    let locales = issuer.holder_locales(credential);
    let locale = choose_locale(header_text(headers, header::ACCEPT_LANGUAGE), &locales);
    let texts = texts::of(&locale).unwrap_or(&texts::EN);
    let display = credential.and_then(|c| issuer.credential_display(c, &locale));
    let mut page = Page::new(&locale, display.map(|d| Brand::of(Some(d), texts)));
    page.heading = texts.login_problem_heading.into();
    page.alert = true;
    match problem {
        LoginProblem::Refused(reason) => {
            page.status(texts.login_refused);
            let _ = write!(
                page.body,
                "<p>{} <span class=\"reason\" lang=\"en\" id=\"reason\">{}</span></p>",
                escape(texts.refused_reason),
                escape(reason)
            );
            page.paragraph(texts.login_start_again);
        }
        LoginProblem::NoSession(reason) => {
            page.status(texts.login_no_session);
            let _ = write!(
                page.body,
                "<p><span class=\"reason\" lang=\"en\" id=\"reason\">{}</span></p>",
                escape(reason)
            );
            page.paragraph(texts.login_start_again);
        }
        LoginProblem::Unavailable { retry, reason } => {
            page.status(texts.provider_unavailable);
            if let Some(reason) = reason {
                let _ = write!(
                    page.body,
                    "<p><span class=\"reason\" lang=\"en\" id=\"reason\">{}</span></p>",
                    escape(reason)
                );
            }
            let _ = write!(
                page.body,
                "<p><a class=\"button\" id=\"retry\" href=\"{}\">{}</a></p>",
                escape(retry),
                escape(texts.provider_retry)
            );
        }
    }
    page.finish(status)
}

/// Why a login page could not go on.
pub(super) enum LoginProblem<'a> {
    /// The login was refused: the reason, in English.
    Refused(&'a str),
    /// No login of this browser waits: the reason, in English.
    NoSession(&'a str),
    /// The provider could not be reached: where to try again, and what failed (in English).
    Unavailable {
        retry: &'a str,
        reason: Option<&'a str>,
    },
}

/// `GET /credentials/{credential}`: the web journey's start, "Get your credential" with a
/// button that signs the holder in.
pub(super) fn credential_page(
    issuer: &Issuer,
    headers: &HeaderMap,
    credential: &str,
    provider: &str,
    sign_in_url: &str,
) -> Response {
    let locales = issuer.holder_locales(Some(credential));
    let locale = choose_locale(header_text(headers, header::ACCEPT_LANGUAGE), &locales);
    let texts = texts::of(&locale).unwrap_or(&texts::EN);
    let display = issuer.credential_display(credential, &locale);
    let provider = issuer.login_provider_name(provider, &locale);
    let mut page = Page::new(&locale, Some(Brand::of(display, texts)));
    page.heading = texts.get_heading.into();
    page.status(&texts.get_intro.replace("{provider}", &provider));
    for prerequisite in issuer.prerequisite_texts(credential, &locale) {
        if let Some(purpose) = prerequisite.purpose {
            page.paragraph(&purpose);
        }
    }
    let _ = write!(
        page.body,
        "<p><a class=\"button\" id=\"sign-in\" href=\"{}\">{}</a></p>",
        escape(sign_in_url),
        escape(&texts.sign_in.replace("{provider}", &provider))
    );
    page.finish(StatusCode::OK)
}

/// The not-found page of the holder's pages.
pub(super) fn not_found_page(issuer: &Issuer, headers: &HeaderMap) -> Response {
    failure(issuer, headers, LookupError::NotFound)
}

/// `Set-Cookie` for the binding: this offer's page only, not readable by scripts, not sent on
/// cross-site subrequests, `Secure` behind an https public URL, until the offer expires.
fn set_cookie(issuer: &Issuer, id: &str, binding: &str, view: &HolderView) -> HeaderValue {
    let path = format!(
        "{}{HOLDER_PAGES_PATH}/{id}",
        super::url_path(&issuer.settings.public_url)
    );
    let max_age = (view.binding_expires_at - issuer.clock.now()).max(0);
    let secure = if issuer.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={binding}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("trustc_holder=; Max-Age=0"))
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The locale of the page: the first of `Accept-Language` (by q-value, then order) that one of
/// `locales` matches, exactly or by language (`fr-CA` → `fr`); else the first locale. Only
/// locales the page has texts for are chosen (English when none is).
pub fn choose_locale(accept_language: Option<&str>, locales: &[String]) -> String {
    let offered: Vec<&str> = locales
        .iter()
        .map(String::as_str)
        .filter(|l| texts::of(l).is_some())
        .collect();
    let Some(first) = offered.first() else {
        return texts::EN.language.to_owned();
    };
    let mut wanted: Vec<(&str, f32, usize)> = Vec::new();
    for (index, item) in accept_language.unwrap_or_default().split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        if tag.is_empty() {
            continue;
        }
        let mut q = 1.0_f32;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        if q > 0.0 && q <= 1.0 {
            wanted.push((tag, q, index));
        }
    }
    wanted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    let language = |tag: &str| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    for (tag, _, _) in wanted {
        if tag == "*" {
            return (*first).to_owned();
        }
        if let Some(exact) = offered.iter().find(|l| l.eq_ignore_ascii_case(tag)) {
            return (*exact).to_owned();
        }
        if let Some(same) = offered.iter().find(|l| language(l) == language(tag)) {
            return (*same).to_owned();
        }
    }
    (*first).to_owned()
}

/// Escapes text for HTML content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A QR code of `data` as inline SVG (dark modules on white, with the quiet zone), or `None`
/// when `data` is too long for one.
fn qr_svg(data: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .module_dimensions(4, 4)
        .quiet_zone(true)
        .build();
    // Inline SVG takes no XML declaration.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

/// The credential's colours and logo for the page's header, made safe to use.
struct Brand {
    name: String,
    issuer: Option<String>,
    description: Option<String>,
    background: String,
    text: String,
    logo: Option<(String, String)>,
}

impl Brand {
    fn of(display: Option<&trustc_artifact::Display>, texts: &Texts) -> Brand {
        let background = display
            .and_then(|d| d.background_color.as_deref())
            .and_then(rgb)
            .unwrap_or((0x1f, 0x29, 0x37));
        let readable = |colour: (u8, u8, u8)| contrast(colour, background) >= 4.5;
        let text = display
            .and_then(|d| d.text_color.as_deref())
            .and_then(rgb)
            .filter(|c| readable(*c))
            .unwrap_or(
                if contrast((255, 255, 255), background) >= contrast((0, 0, 0), background) {
                    (255, 255, 255)
                } else {
                    (0, 0, 0)
                },
            );
        let issuer = display.and_then(|d| d.issuer.clone());
        let logo = display.and_then(|d| d.logo.as_ref()).and_then(|logo| {
            let uri = logo.uri.as_str();
            (uri.starts_with("https://") || uri.starts_with("data:image/")).then(|| {
                let alt = logo
                    .alt_text
                    .clone()
                    .or_else(|| issuer.clone())
                    .unwrap_or_default();
                (uri.to_owned(), alt)
            })
        });
        Brand {
            name: display.map(|d| d.name.clone()).unwrap_or_default(),
            issuer: issuer.map(|i| texts.issued_by.replace("{name}", &i)),
            description: display.and_then(|d| d.description.clone()),
            background: hex(background),
            text: hex(text),
            logo,
        }
    }
}

/// `#RRGGBB` (or `#RGB`) as its three channels.
fn rgb(colour: &str) -> Option<(u8, u8, u8)> {
    let digits = colour.strip_prefix('#')?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |s: &str| u8::from_str_radix(s, 16).ok();
    match digits.len() {
        6 => Some((
            channel(&digits[0..2])?,
            channel(&digits[2..4])?,
            channel(&digits[4..6])?,
        )),
        3 => {
            let one = |i: usize| channel(&digits[i..=i].repeat(2));
            Some((one(0)?, one(1)?, one(2)?))
        }
        _ => None,
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The WCAG 2 contrast ratio of two colours (1 to 21).
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A page being written.
struct Page {
    locale: String,
    brand: Option<Brand>,
    heading: String,
    /// The main content after the heading.
    body: String,
    /// Reload every [`REFRESH_SECONDS`].
    refresh: bool,
    /// The status is a problem (styled as one).
    alert: bool,
}

impl Page {
    fn new(locale: &str, brand: Option<Brand>) -> Page {
        Page {
            locale: locale.to_owned(),
            brand,
            heading: String::new(),
            body: String::new(),
            refresh: false,
            alert: false,
        }
    }

    /// The live status line (`#status`), announced by screen readers when it changes.
    fn status(&mut self, text: &str) {
        let _ = write!(
            self.body,
            "<p id=\"status\" role=\"status\" aria-live=\"polite\">{}</p>",
            escape(text)
        );
    }

    fn paragraph(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", escape(text));
    }

    /// A paragraph in `language`, marked as such when it is not the page's.
    fn paragraph_in(&mut self, text: &str, language: &str) {
        if language.eq_ignore_ascii_case(&self.locale) {
            self.paragraph(text);
        } else {
            let _ = write!(
                self.body,
                "<p lang=\"{}\">{}</p>",
                escape(language),
                escape(text)
            );
        }
    }

    /// A QR code of `link` and the same link for a wallet on this device (`#<id>`).
    fn qr_and_link(
        &mut self,
        link: &str,
        id: &str,
        scan: &str,
        qr_label: &str,
        open: &str,
        texts: &Texts,
    ) {
        match qr_svg(link) {
            Some(svg) => {
                let _ = write!(
                    self.body,
                    "<p>{}</p><div class=\"qr\" role=\"img\" aria-label=\"{}\">{svg}</div>",
                    escape(scan),
                    escape(qr_label)
                );
            }
            None => self.paragraph(texts.no_qr),
        }
        let _ = write!(
            self.body,
            "<p><a class=\"button\" id=\"{id}\" href=\"{}\">{}</a></p>",
            escape(link),
            escape(open)
        );
    }

    /// "Check now" and, while the page reloads itself, a way to stop it.
    fn refresh_controls(&mut self, own_link: &str, refresh: bool, texts: &Texts) {
        let _ = write!(
            self.body,
            "<p class=\"controls\"><a href=\"{own_link}\">{}</a>",
            escape(texts.check_now)
        );
        if refresh {
            let _ = write!(
                self.body,
                " · <a href=\"{own_link}?{NO_REFRESH}\">{}</a>",
                escape(texts.stop_refreshing)
            );
        }
        self.body.push_str("</p>");
    }

    /// The whole document, with its headers.
    fn finish(self, status: StatusCode) -> Response {
        let (background, text) = self.brand.as_ref().map_or(("#1f2937", "#ffffff"), |b| {
            (b.background.as_str(), b.text.as_str())
        });
        let style = format!(
            "body{{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;\
             font-size:1.0625rem;line-height:1.5;color:#1a1a1a;background:#ffffff}}\
             header{{background:{background};color:{text};padding:1.25rem 1rem}}\
             .inner{{max-width:40rem;margin:0 auto}}\
             header .inner{{display:flex;align-items:center;gap:1rem}}\
             header img{{width:4rem;height:4rem;object-fit:contain;flex:none;\
             overflow:hidden;font-size:.75rem}}\
             header h1{{margin:0;font-size:1.75rem;line-height:1.2}}\
             header p{{margin:.25rem 0 0}}\
             header .description{{font-size:.9375rem}}\
             main{{padding:1rem 1rem 2rem}}\
             h2{{font-size:1.375rem;margin:1rem 0}}\
             h3{{font-size:1.125rem;margin:1.5rem 0 .25rem}}\
             #status{{font-weight:600;padding:.75rem 1rem;border-left:.3rem solid #0b57d0;\
             background:#eef3fd}}\
             .alert #status{{border-left-color:#b3261e;background:#fdeceb}}\
             .qr{{width:min(18rem,100%);margin:.5rem 0 1rem}}\
             .qr svg{{display:block;width:100%;height:auto}}\
             a{{color:#0b57d0}}\
             a.button,button{{display:inline-block;padding:.75rem 1.25rem;border:0;\
             border-radius:.375rem;background:#0b57d0;color:#ffffff;font:inherit;\
             font-weight:600;text-decoration:none;cursor:pointer}}\
             a:focus-visible,button:focus-visible{{outline:.2rem solid #1a1a1a;\
             outline-offset:.2rem}}\
             .code{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:2rem;\
             letter-spacing:.3em;margin:0}}\
             .reason{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9375rem}}"
        );
        let style_hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
        let mut html = String::with_capacity(self.body.len() + style.len() + 1024);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"referrer\" content=\"no-referrer\">",
            escape(&self.locale)
        );
        if self.refresh {
            let _ = write!(
                html,
                "<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">"
            );
        }
        let title = match &self.brand {
            Some(brand) if !brand.name.is_empty() => format!("{} – {}", self.heading, brand.name),
            _ => self.heading.clone(),
        };
        let _ = write!(
            html,
            "<title>{}</title><style>{style}</style></head><body>",
            escape(&title)
        );
        if let Some(brand) = &self.brand {
            html.push_str("<header><div class=\"inner\">");
            if let Some((uri, alt)) = &brand.logo {
                let _ = write!(
                    html,
                    "<img src=\"{}\" alt=\"{}\">",
                    escape(uri),
                    escape(alt)
                );
            }
            let _ = write!(html, "<div><h1>{}</h1>", escape(&brand.name));
            if let Some(issuer) = &brand.issuer {
                let _ = write!(html, "<p>{}</p>", escape(issuer));
            }
            if let Some(description) = &brand.description {
                let _ = write!(html, "<p class=\"description\">{}</p>", escape(description));
            }
            html.push_str("</div></div></header>");
        }
        let _ = write!(
            html,
            "<main class=\"inner{}\">",
            if self.alert { " alert" } else { "" }
        );
        // Without the credential's header, the page's heading is its first.
        let level = if self.brand.is_some() { 2 } else { 1 };
        let _ = write!(html, "<h{level}>{}</h{level}>", escape(&self.heading));
        html.push_str(&self.body);
        html.push_str("</main></body></html>\n");

        let mut response = (status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(policy) = HeaderValue::from_str(&format!(
            "default-src 'none'; style-src 'sha256-{style_hash}'; img-src https: data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        if let Ok(language) = HeaderValue::from_str(&self.locale) {
            headers.insert(header::CONTENT_LANGUAGE, language);
        }
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales(list: &[&str]) -> Vec<String> {
        list.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn escaping_covers_content_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(
            escape("Étape 1 sur 2 : présentez"),
            "Étape 1 sur 2 : présentez"
        );
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn the_locale_follows_accept_language_and_its_q_values() {
        let both = locales(&["en", "fr"]);
        assert_eq!(choose_locale(Some("fr-CA,fr;q=0.9,en;q=0.8"), &both), "fr");
        assert_eq!(choose_locale(Some("en-GB;q=0.4, fr;q=0.7"), &both), "fr");
        assert_eq!(choose_locale(Some("de, en;q=0.1"), &both), "en");
        assert_eq!(choose_locale(Some("fr;q=0, en;q=0.5"), &both), "en");
        assert_eq!(choose_locale(Some("FR"), &both), "fr");
        // Unknown or none: the framework's first locale.
        assert_eq!(choose_locale(Some("de-CH, it"), &both), "en");
        assert_eq!(choose_locale(Some("*"), &locales(&["fr", "en"])), "fr");
        assert_eq!(choose_locale(None, &locales(&["fr", "en"])), "fr");
        assert_eq!(choose_locale(Some(";;,q=,"), &both), "en");
        // A locale the page has no texts for is never chosen.
        assert_eq!(choose_locale(Some("de"), &locales(&["de", "fr"])), "fr");
        assert_eq!(choose_locale(Some("de"), &locales(&["de"])), "en");
    }

    #[test]
    fn branding_colours_are_read_strictly_and_kept_readable() {
        assert_eq!(rgb("#00475A"), Some((0x00, 0x47, 0x5a)));
        assert_eq!(rgb("#fff"), Some((255, 255, 255)));
        for bad in ["00475A", "#00475G", "#0047", "red", "#00475A;}body{", ""] {
            assert_eq!(rgb(bad), None, "{bad}");
        }
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
        let display = trustc_artifact::Display {
            locale: "en".into(),
            name: "Lawyer".into(),
            description: None,
            issuer: Some("Law Society".into()),
            logo: Some(trustc_artifact::Image {
                uri: "javascript:alert(1)".into(),
                alt_text: None,
                integrity: None,
            }),
            background_color: Some("#FFFF00".into()),
            secondary_background_color: None,
            background_image: None,
            background_image_slice: None,
            // White on yellow is unreadable: black instead.
            text_color: Some("#FFFFFF".into()),
            primary_attribute: None,
            secondary_attribute: None,
            issued_date_attribute: None,
            expiry_date_attribute: None,
        };
        let brand = Brand::of(Some(&display), &texts::EN);
        assert_eq!(
            (brand.background.as_str(), brand.text.as_str()),
            ("#ffff00", "#000000")
        );
        assert!(brand.logo.is_none(), "only https and data: images");
        assert_eq!(brand.issuer.as_deref(), Some("Issued by Law Society"));
    }

    #[test]
    fn qr_codes_are_inline_svg() {
        let svg = qr_svg("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fi.example")
            .unwrap();
        assert!(svg.starts_with("<svg aria-hidden=\"true\""), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        assert!(
            qr_svg(&"x".repeat(5000)).is_none(),
            "too long for a QR code"
        );
    }
}
