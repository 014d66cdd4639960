// Checks the development OpenID Provider (op.mjs) from a relying party's side, with `jose` and no
// trustc, so that the login tests stand on a provider known to behave: discovery, each test
// account's login (the forms in dev mode, none in auto mode), the code exchange with PKCE and the
// client secret, the ID token and userinfo (signed, or encrypted to this script's key when the
// provider runs with OP_ENCRYPT=1), a replayed code, and each test hook (tamper, slow).
//
// Usage: node op_check.mjs ISSUER dev|auto
// Prints one JSON summary on stdout (exit 0), or the summary so far with `failure` (exit 1).

import { createServer } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'

import * as jose from 'jose'

import { Browser } from './browser.mjs'

const TAMPERS = ['nonce', 'aud', 'iss', 'exp', 'signature', 'none']
const CLIENT = { id: 'trustc-dev', secret: process.env.TRUSTC_DEV_LOGIN_SECRET ?? 'trustc-dev-secret' }

const [issuer, mode] = process.argv.slice(2)
const summary = { issuer, mode }
let code = 0
let server
try {
  if (!issuer || !['dev', 'auto'].includes(mode)) {
    console.error('usage: node op_check.mjs ISSUER dev|auto')
    process.exit(2)
  }
  await check()
} catch (error) {
  console.error(error?.stack ?? error)
  summary.failure = String(error?.message ?? error)
  code = 1
} finally {
  server?.close()
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
process.exit(code)

async function check() {
  // This relying party: its encryption key at /login/jwks, its redirect URI (never fetched).
  const { publicKey, privateKey } = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
  const jwk = { ...(await jose.exportJWK(publicKey)), use: 'enc', alg: 'ECDH-ES', kid: 'rp-enc-1' }
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const rp = `http://127.0.0.1:${server.address().port}`
  const redirectUri = `${rp}/login/callback`
  const registered = await post(`/__test/client?${new URLSearchParams({ redirect_uri: redirectUri, jwks_uri: `${rp}/login/jwks` })}`)
  summary.client = { redirect_uris: registered.redirect_uris, encrypted: 'id_token_encrypted_response_alg' in registered }

  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
  summary.discovery = {
    issuer: discovery.issuer,
    claims_parameter_supported: discovery.claims_parameter_supported,
    iss_parameter: discovery.authorization_response_iss_parameter_supported,
    pkce: discovery.code_challenge_methods_supported,
    acr_values_supported: discovery.acr_values_supported,
    scopes_supported: discovery.scopes_supported,
    claims_supported: discovery.claims_supported,
    id_token_encryption: discovery.id_token_encryption_alg_values_supported,
  }
  const keys = jose.createLocalJWKSet(await (await fetch(discovery.jwks_uri)).json())
  const context = { discovery, keys, privateKey, redirectUri }

  summary.accounts = {}
  for (const account of ['alice', 'bob', 'carol', 'dave']) {
    const login = await logIn(context, account)
    const verified = await verify(context, login.idToken, login.nonce)
    summary.accounts[account] = {
      id_token_encrypted: login.encrypted,
      id_token: verified,
      userinfo: await userinfo(context, login.accessToken),
    }
  }
  // A code exchanged twice: refused, and the tokens of the first exchange revoked with it.
  const login = await logIn(context, 'alice')
  const again = await login.exchange()
  summary.replayed_code = {
    status: again.status,
    error: (await again.json()).error,
    first_access_token_after: await userinfo(context, login.accessToken),
  }

  summary.tamper = {}
  for (const what of TAMPERS) {
    await post(`/__test/tamper?what=${what}`)
    const login = await logIn(context, 'alice')
    summary.tamper[what] = await verify(context, login.idToken, login.nonce)
  }
  // The hook spoils one token only.
  const after = await logIn(context, 'alice')
  summary.after_tamper = await verify(context, after.idToken, after.nonce)

  await post('/__test/slow?ms=1500')
  const started = Date.now()
  await logIn(context, 'alice')
  summary.slow_token_ms = Date.now() - started
  await post('/__test/drop')
  summary.dropped_token_request = await logIn(context, 'alice').then(
    () => 'answered',
    (error) => error.cause?.code ?? error.message,
  )
  const afterDrop = await logIn(context, 'alice')
  summary.after_drop = (await verify(context, afterDrop.idToken, afterDrop.nonce)).valid
  summary.unknown_redirect_uri = await unknownRedirect(context)
}

/// Logs `account` in (the forms in dev mode; next-login in auto mode) and exchanges the code.
async function logIn({ discovery, privateKey, redirectUri }, account) {
  if (mode === 'auto') await post(`/__test/next-login?account=${account}`)
  const state = random()
  const nonce = random()
  const verifier = random()
  const authorize = new URL(discovery.authorization_endpoint)
  authorize.search = new URLSearchParams({
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile address identity_assurance member',
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    acr_values: 'urn:example:loa:3',
  }).toString()
  const arrived = await new Browser().navigate(authorize.href, { stopAt: redirectUri, login: account })
  if (!arrived.stopped) throw new Error(`the login did not come back: ${arrived.status} ${arrived.text?.slice(0, 500)}`)
  const back = new URL(arrived.stopped).searchParams
  if (back.get('state') !== state) throw new Error('the state came back changed')
  if (back.get('iss') !== issuer) throw new Error(`iss ${back.get('iss')} on the redirect`)
  const exchange = () =>
    fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.get('code'), redirect_uri: redirectUri, code_verifier: verifier }),
    })
  const response = await exchange()
  const tokens = await response.json()
  if (!response.ok) throw new Error(`token: ${response.status} ${JSON.stringify(tokens)}`)
  const encrypted = tokens.id_token.split('.').length === 5
  if (encrypted) summary.id_token_jwe_header = jose.decodeProtectedHeader(tokens.id_token)
  const idToken = encrypted
    ? new TextDecoder().decode((await jose.compactDecrypt(tokens.id_token, privateKey)).plaintext)
    : tokens.id_token
  return { idToken, encrypted, nonce, accessToken: tokens.access_token, exchange }
}

/// What a careful relying party concludes of an ID token: its claims when valid, else why not.
async function verify({ keys }, idToken, nonce) {
  const header = jose.decodeProtectedHeader(idToken)
  try {
    const { payload } = await jose.jwtVerify(idToken, keys, { issuer, audience: CLIENT.id, algorithms: ['RS256', 'ES256'] })
    if (payload.nonce !== nonce) return { valid: false, reason: 'nonce', alg: header.alg }
    const { iat: _i, exp: _e, auth_time: _a, at_hash: _h, nonce: _n, ...claims } = payload
    return { valid: true, alg: header.alg, claims }
  } catch (error) {
    return { valid: false, reason: error.code ?? error.name, claim: error.claim ?? null, alg: header.alg }
  }
}

/// The userinfo answer: JSON, or a JWT (encrypted when the client asked) verified like the ID token.
async function userinfo({ discovery, keys, privateKey }, accessToken) {
  const response = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } })
  if (!response.ok) return { status: response.status, error: (await response.json()).error }
  const type = response.headers.get('content-type') ?? ''
  if (type.startsWith('application/json')) return { content_type: 'application/json', claims: await response.json() }
  let jwt = await response.text()
  const encrypted = jwt.split('.').length === 5
  if (encrypted) jwt = new TextDecoder().decode((await jose.compactDecrypt(jwt, privateKey)).plaintext)
  const { payload } = await jose.jwtVerify(jwt, keys, { issuer, audience: CLIENT.id })
  const { iat: _i, exp: _e, aud: _a, iss: _s, ...claims } = payload
  return { content_type: type.split(';')[0], encrypted, claims }
}

/// The provider refuses a redirect URI it does not know, on its own page.
async function unknownRedirect({ discovery }) {
  const authorize = new URL(discovery.authorization_endpoint)
  authorize.search = new URLSearchParams({
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: 'http://127.0.0.1:9/elsewhere',
    scope: 'openid',
    code_challenge: createHash('sha256').update(random()).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString()
  const page = await new Browser().navigate(authorize.href, {})
  return { status: page.status, mentions: /redirect_uri/.test(page.text ?? '') }
}

async function post(path) {
  const response = await fetch(`${issuer}${path}`, { method: 'POST' })
  const body = await response.json()
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(body)}`)
  return body
}

function random() {
  return randomBytes(32).toString('base64url')
}
