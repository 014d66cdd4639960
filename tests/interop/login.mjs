// A wallet made of third-party libraries that receives a credential through trustc's OpenID4VCI
// authorization code flow, where trustc is its own authorization server and signs the person in
// at an OpenID Provider (op.mjs, the development provider, in auto mode) before it issues. The
// protocol code is @openid4vc/openid4vci and /oauth2 0.4.6 (Credo's engine): PAR, PKCE S256,
// `issuer_state`, the authorization challenge's `redirect_to_web`, the `iss` of the authorization
// response (RFC 9207), DPoP when asked; the "browser" between the redirects is browser.mjs (fetch
// with a cookie jar), and the credential is checked with @sd-jwt/sd-jwt-vc (wallet.mjs).
//
// Usage (INPUT.json written by tests/interop_login.rs):
//   node login.mjs wallet-initiated INPUT.json
//     INPUT: { "issuer": <credential issuer URL>, "credential": <configuration id>, "alg",
//              "dpop": bool, "via": "par"|"challenge", "resolve", "redirect_uri"?, "bad"? }
//     No offer: the scope of the credential configuration, PAR (or the authorization challenge,
//     `via`), the login, the code, the token, the credential.
//   node login.mjs issuer-initiated INPUT.json
//     INPUT: { "offer": <credential offer URI with an authorization_code grant>, "alg", "dpop",
//              "resolve", "redirect_uri"?, "bad"? }
//     The same from an offer: the authorization challenge first (trustc answers `redirect_to_web`
//     with a `request_uri`), `issuer_state` carried along.
//   node login.mjs lawyer INPUT.json
//     INPUT: { "offer", "person_credential", "holder_jwk_private", "alg", "resolve", "work" }
//     Login, then the holder page's OpenID4VP request answered with the Person credential
//     (presentation.mjs answer), then the page sends the browser on to the wallet with the code.
//
// `bad` spoils one step the wallet or its browser controls; the run ends where the server must
// refuse, and the summary's `refused` says where and with what (`accepted` when it let it through):
//   reuse-request-uri       the authorization request URL opened a second time
//   authorize-other-client  /authorize with the request_uri but another client_id
//   callback-wrong-state    trustc's callback reached with another `state`
//   callback-wrong-iss      trustc's callback reached with another provider's `iss`
//   callback-no-cookie      trustc's callback reached from a browser without trustc's cookie
//   callback-replay         trustc's callback reached a second time with the same code
//   wrong-pkce              the token request with another PKCE verifier
//   replay-code             the authorization code redeemed a second time
//   token-other-redirect-uri  the token request with another redirect_uri
//   token-other-client      the token request as another client
//
// Prints one JSON summary on stdout and exits 0, also when the server refused a step (the Rust
// test decides what is right); a failure of the wallet itself prints `failure` and exits 1.

import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'

import { AuthorizationFlow, Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'
import { Oauth2Client, clientAuthenticationNone } from '@openid4vc/oauth2'

import { Browser } from './browser.mjs'
import { nodeCallbacks } from './callbacks.mjs'
import { Accepted, Refusal, mustRefuse, outcome, pick, randomToken, runCommand, step, usage } from './steps.mjs'
import {
  checkCredential,
  describeOffer,
  holderFromPrivateJwk,
  holderSignJwt,
  newHolder,
  presentationHolder,
  receiveCredential,
} from './wallet.mjs'

export const BAD_INPUTS = [
  'reuse-request-uri',
  'authorize-other-client',
  'callback-wrong-state',
  'callback-wrong-iss',
  'callback-no-cookie',
  'callback-replay',
  'wrong-pkce',
  'replay-code',
  'token-other-redirect-uri',
  'token-other-client',
]

/// The wallet's OAuth client (a public client: PKCE, no secret) and where trustc sends it back.
const WALLET_CLIENT_ID = 'login-wallet'
const WALLET_REDIRECT_URI = 'https://wallet.example/callback'
/// How long the holder page may take to send the browser on after the presentation.
const PAGE_MOVES_ON_MS = 15_000

// trustc and the provider run on plain http on loopback in the test.
setGlobalConfig({ allowInsecureUrls: true })

const [command, ...args] = process.argv.slice(2)
const summary = { command }
await runCommand(summary, () => {
  if (command === 'wallet-initiated' && args.length === 1) return walletInitiated(args[0])
  if (command === 'issuer-initiated' && args.length === 1) return issuerInitiated(args[0])
  if (command === 'lawyer' && args.length === 1) return lawyer(args[0])
  return usage(
    'node login.mjs wallet-initiated INPUT.json',
    'node login.mjs issuer-initiated INPUT.json',
    'node login.mjs lawyer INPUT.json',
  )
})

// ---------------------------------------------------------------------------------------------
// The three flows

async function walletInitiated(inputPath) {
  const input = await readInput(inputPath)
  const wallet = await newWallet(input)
  const metadata = await step('metadata', () => wallet.vci.resolveIssuerMetadata(input.issuer))
  const server = describeServer(metadata)
  const scope = metadata.credentialIssuer.credential_configurations_supported?.[input.credential]?.scope
  summary.scope = scope ?? null
  if (typeof scope !== 'string') throw new Error(`the issuer metadata gives ${input.credential} no scope`)
  const options = {
    authorizationServerMetadata: server,
    clientId: WALLET_CLIENT_ID,
    redirectUri: wallet.redirectUri,
    scope,
    resource: metadata.credentialIssuer.credential_issuer,
    dpop: wallet.dpop,
  }
  const request = await step('authorization-request', () =>
    input.via === 'challenge' ? wallet.oauth2.initiateAuthorization(options) : wallet.oauth2.createAuthorizationRequestUrl(options),
  )
  const code = await authorize(wallet, input, server, request.authorizationRequestUrl)
  const token = (overrides = {}, clients = wallet) =>
    clients.oauth2.retrieveAuthorizationCodeAccessToken({
      authorizationServerMetadata: server,
      authorizationCode: code,
      pkceCodeVerifier: request.pkce?.codeVerifier,
      redirectUri: wallet.redirectUri,
      resource: metadata.credentialIssuer.credential_issuer,
      dpop: wallet.dpop,
      ...overrides,
    })
  await redeem(wallet, input, metadata, input.credential, token)
}

async function issuerInitiated(inputPath) {
  const input = await readInput(inputPath)
  const wallet = await newWallet(input)
  const { offer, metadata, server, configuration } = await resolveOffer(wallet, input.offer)
  const request = await challenge(wallet, offer, metadata)
  const code = await authorize(wallet, input, server, request.authorizationRequestUrl)
  const token = (overrides = {}, clients = wallet) =>
    clients.vci.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata: metadata,
      credentialOffer: offer,
      authorizationCode: code,
      pkceCodeVerifier: request.pkce?.codeVerifier,
      redirectUri: wallet.redirectUri,
      dpop: wallet.dpop,
      ...overrides,
    })
  await redeem(wallet, input, metadata, configuration, token)
}

async function lawyer(inputPath) {
  const input = await readInput(inputPath)
  const wallet = await newWallet(input, await holderFromPrivateJwk(input.holder_jwk_private, input.alg))
  const { offer, metadata, server, configuration } = await resolveOffer(wallet, input.offer)
  const request = await challenge(wallet, offer, metadata)

  // The login ends on the holder page, which asks for the Person credential.
  const page = await step('login', () => wallet.browser.navigate(request.authorizationRequestUrl, { stopAt: wallet.redirectUri }))
  summary.login = describeNavigation(page, input)
  if (page.stopped) throw new Error(`the login went straight back to the wallet, without the presentation: ${page.stopped}`)
  const link = presentationLink(page.text)
  summary.holder_page = { url: page.url, status: page.status, presentation_link: link }
  if (!link) throw new Refusal('login', { page: describePage(page) })
  summary.answer = await step('presentation', () =>
    presentationHolder(
      'answer',
      { request: link, person_credential: input.person_credential, holder_jwk_private: input.holder_jwk_private, alg: input.alg },
      input.work ?? tmpdir(),
    ),
  )

  // The page, opened again in the same browser, sends it on to the wallet with the code.
  const deadline = Date.now() + PAGE_MOVES_ON_MS
  let back
  for (;;) {
    back = await step('holder-page', () => wallet.browser.navigate(page.url, { stopAt: wallet.redirectUri }))
    if (back.stopped || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  if (!back.stopped) throw new Refusal('holder-page', { page: describePage(back) })
  const code = authorizationCode(wallet, server, back.stopped)
  const token = () =>
    wallet.vci.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata: metadata,
      credentialOffer: offer,
      authorizationCode: code,
      pkceCodeVerifier: request.pkce?.codeVerifier,
      redirectUri: wallet.redirectUri,
    })
  await redeem(wallet, input, metadata, configuration, token)
}

// ---------------------------------------------------------------------------------------------
// The steps they share

async function readInput(inputPath) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  if (input.bad != null && !BAD_INPUTS.includes(input.bad)) {
    throw new Error(`unknown bad input ${JSON.stringify(input.bad)}; one of ${BAD_INPUTS.join(', ')}`)
  }
  summary.bad = input.bad ?? null
  return input
}

/// The wallet: its holder key, an optional DPoP key, its clients and its browser.
async function newWallet(input, holder) {
  holder ??= await newHolder(input.alg)
  const dpopKey = input.dpop ? await newHolder('ES256') : null
  const callbacks = {
    ...nodeCallbacks(),
    clientAuthentication: clientAuthenticationNone({ clientId: WALLET_CLIENT_ID }),
    signJwt: holderSignJwt(...[holder, dpopKey].filter(Boolean)),
  }
  summary.alg = holder.alg
  summary.dpop = dpopKey !== null
  return {
    holder,
    callbacks,
    vci: new Openid4vciClient({ callbacks }),
    oauth2: new Oauth2Client({ callbacks }),
    browser: new Browser(),
    redirectUri: input.redirect_uri ?? WALLET_REDIRECT_URI,
    dpop: dpopKey ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk } } : undefined,
  }
}

async function resolveOffer(wallet, offerUri) {
  const offer = await step('offer', () => wallet.vci.resolveCredentialOffer(offerUri))
  summary.offer = describeOffer(offer)
  const metadata = await step('metadata', () => wallet.vci.resolveIssuerMetadata(offer.credential_issuer))
  return { offer, metadata, server: describeServer(metadata), configuration: offer.credential_configuration_ids[0] }
}

/// The authorization server metadata, recorded in the summary.
function describeServer(metadata) {
  const server = metadata.authorizationServers?.[0] ?? {}
  summary.authorization_server = pick(server, [
    'issuer',
    'authorization_endpoint',
    'pushed_authorization_request_endpoint',
    'authorization_challenge_endpoint',
    'token_endpoint',
    'response_types_supported',
    'grant_types_supported',
    'code_challenge_methods_supported',
    'authorization_response_iss_parameter_supported',
    'dpop_signing_alg_values_supported',
  ])
  return server
}

/// The authorization challenge for an offer: trustc must answer `redirect_to_web` (the library
/// then builds the authorization request URL from its `request_uri`).
async function challenge(wallet, offer, metadata) {
  const request = await step('challenge', () =>
    wallet.vci.initiateAuthorization({
      clientId: WALLET_CLIENT_ID,
      issuerMetadata: metadata,
      credentialOffer: offer,
      redirectUri: wallet.redirectUri,
      dpop: wallet.dpop,
    }),
  )
  summary.challenge = { flow: request.authorizationFlow }
  if (request.authorizationFlow !== AuthorizationFlow.Oauth2Redirect) {
    throw new Error(`the challenge did not send the wallet to the web (flow ${request.authorizationFlow})`)
  }
  return request
}

/// Opens the authorization request URL in the browser and follows it through trustc, the
/// provider and trustc's callback back to the wallet; the authorization code. `bad` spoils the
/// step it names here.
async function authorize(wallet, input, server, url) {
  const request = new URL(url)
  summary.authorization_request = {
    parameters: [...request.searchParams.keys()].sort(),
    request_uri: request.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:') ?? false,
  }
  const bad = input.bad
  if (bad === 'authorize-other-client') {
    request.searchParams.set('client_id', 'another-wallet')
    await mustNotReachWallet('authorize', wallet, request.href)
  }
  const callback = `${server.issuer}/login/callback`
  const stopAt = bad?.startsWith('callback-') ? callback : wallet.redirectUri
  const arrived = await step('login', () => wallet.browser.navigate(url, { stopAt }))
  summary.login = describeNavigation(arrived, input)
  if (!arrived.stopped) throw new Refusal('login', { page: describePage(arrived) })
  if (bad === 'reuse-request-uri') {
    await mustNotReachWallet('authorize-again', wallet, url)
  }
  if (bad?.startsWith('callback-')) {
    const spoiled = new URL(arrived.stopped)
    if (bad === 'callback-wrong-state') spoiled.searchParams.set('state', randomToken(16))
    if (bad === 'callback-wrong-iss') spoiled.searchParams.set('iss', 'http://localhost:1/another-provider')
    if (bad === 'callback-replay') {
      const first = await wallet.browser.navigate(spoiled.href, { stopAt: wallet.redirectUri })
      summary.first_callback = { reached_wallet: Boolean(first.stopped), ...authorizationResponseOf(first.stopped) }
    }
    const browser = bad === 'callback-no-cookie' ? new Browser() : wallet.browser
    await mustNotReachWallet('callback', browser, spoiled.href, wallet.redirectUri)
  }
  return authorizationCode(wallet, server, arrived.stopped)
}

/// The code of the authorization response, after the library checked its `iss`; an error
/// response is a refusal.
function authorizationCode(wallet, server, redirect) {
  summary.authorization_response = authorizationResponseOf(redirect)
  const response = wallet.vci.parseAndVerifyAuthorizationResponseRedirectUrl({
    url: redirect,
    authorizationServerMetadata: server,
  })
  if (response.error) throw new Refusal('authorization-response', summary.authorization_response)
  return response.code
}

/// The token (spoiled as `bad` asks), then the credential, checked.
async function redeem(wallet, input, metadata, configuration, token) {
  const bad = input.bad
  if (bad === 'wrong-pkce') await mustRefuse('token', () => token({ pkceCodeVerifier: randomToken(32) }))
  if (bad === 'token-other-redirect-uri') await mustRefuse('token', () => token({ redirectUri: 'https://wallet.example/elsewhere' }))
  if (bad === 'token-other-client') {
    const callbacks = { ...wallet.callbacks, clientAuthentication: clientAuthenticationNone({ clientId: 'another-wallet' }) }
    const other = { vci: new Openid4vciClient({ callbacks }), oauth2: new Oauth2Client({ callbacks }) }
    await mustRefuse('token', () => token({}, other))
  }
  const { accessTokenResponse, dpop } = await step('token', () => token())
  summary.token = { token_type: accessTokenResponse.token_type, expires_in: accessTokenResponse.expires_in ?? null }
  if (bad === 'replay-code') {
    summary.replayed_code = await outcome(() => token())
    if (summary.replayed_code.accepted) throw new Accepted('token-again', summary.replayed_code)
    throw new Refusal('token-again', summary.replayed_code)
  }
  if (bad) throw new Accepted(bad, { note: 'the flow ran through' })
  const credential = await receiveCredential(wallet.vci, metadata, accessTokenResponse, configuration, wallet.holder, dpop)
  summary.credential = credential
  // The key it is bound to, for presenting it later (the Law Society asks for the Person one).
  summary.holder_jwk_private = wallet.holder.privateJwk
  summary.checked = await checkCredential(credential, input.resolve ?? {}, wallet.holder)
}

/// Opens `url` in the wallet's browser (or `browser`); it must not come back to the wallet with
/// a code. A page (or an error redirect) is the refusal.
async function mustNotReachWallet(name, wallet, url, redirectUri = wallet.redirectUri) {
  const browser = wallet instanceof Browser ? wallet : wallet.browser
  const result = await browser.navigate(url, { stopAt: redirectUri })
  if (result.stopped) {
    const response = authorizationResponseOf(result.stopped)
    if (response.error) throw new Refusal(name, { authorization_response: response })
    throw new Accepted(name, { authorization_response: response })
  }
  throw new Refusal(name, { page: describePage(result) })
}

// ---------------------------------------------------------------------------------------------
// What the browser saw

function authorizationResponseOf(redirect) {
  if (!redirect) return {}
  const query = new URL(redirect).searchParams
  return {
    code: query.has('code'),
    state: query.get('state'),
    iss: query.get('iss'),
    error: query.get('error'),
    error_description: query.get('error_description'),
  }
}

/// The hops of a navigation: which hosts it passed (trustc, the provider), and where it ended.
function describeNavigation(result, input) {
  return {
    hops: result.hops.map((hop) => `${hop.status} ${hop.method} ${hop.url}`),
    reached_provider: result.hops.some((hop) => /\/(auth|interaction)\b/.test(new URL(hop.url).pathname)),
    reached_callback: result.hops.some((hop) => new URL(hop.url).pathname === '/login/callback'),
    reached_wallet: Boolean(result.stopped) && result.stopped.startsWith(input.redirect_uri ?? WALLET_REDIRECT_URI),
  }
}

/// A page the browser ended on: its status, type, heading and text (for the test to read why).
function describePage(result) {
  const html = result.text ?? ''
  const text = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  const heading = html.match(/<h[12][^>]*>([\s\S]*?)<\/h[12]>/i)?.[1]?.replace(/<[^>]+>/g, '').trim()
  return {
    status: result.status,
    url: result.url,
    content_type: result.contentType ?? null,
    heading: heading === undefined ? null : unescapeHtml(heading),
    text: unescapeHtml(text).slice(0, 1500),
  }
}

/// Text or an attribute value as HTML escapes it (trustc's pages: `&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&#39;`), unescaped.
function unescapeHtml(text) {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
  return text.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(\w+));/gi, (whole, decimal, hex, name) => {
    if (decimal) return String.fromCodePoint(Number(decimal))
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16))
    return named[name.toLowerCase()] ?? whole
  })
}

/// The holder page's same-device OpenID4VP link (`#presentation-link`).
function presentationLink(html) {
  const tag = html?.match(/<a\b[^>]*\bid="presentation-link"[^>]*>/)?.[0]
  const href = tag?.match(/\bhref="([^"]+)"/)?.[1]
  return href === undefined ? null : unescapeHtml(href)
}
