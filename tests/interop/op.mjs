// The development and test OpenID Provider: npm `oidc-provider` 9.13.3 (OpenID certified), with
// test accounts, for trying a `login` credential locally and for the login tests
// (tests/interop_login.rs). One command, from the repository:
//
//   npm --prefix tests/interop ci && node tests/interop/op.mjs
//
// then `trustc serve` (public URL http://127.0.0.1:8080) signs people in at http://localhost:8700,
// the example governance's dev provider for the province. The Law Society's is on 8701; with its
// trustc on, say, port 8081:
//
//   OP_PORT=8701 RP_REDIRECT_URI=http://127.0.0.1:8081/login/callback node tests/interop/op.mjs
//
// Sign in with `alice`, `bob`, `carol` or `dave` (op_accounts.mjs) and any password.
//
// Environment:
//   OP_PORT          port on 127.0.0.1 (and ::1 when the issuer's host is localhost); default
//                    8700; 0 = a free port (see OP_READY)
//   OP_ISSUER        the issuer URL, exactly as discovery names it; default http://localhost:<port>
//   OP_MODE          dev: the login and consent forms; auto: no forms, the next login is the
//                    account `POST /__test/next-login?account=` named (default alice), or the
//                    request's `login_hint`
//   RP_REDIRECT_URI  the client's redirect URIs, comma separated; default trustc serve's
//                    http://127.0.0.1:8080/login/callback and http://localhost:8080/login/callback
//   RP_JWKS_URI      the client's keys, for OP_ENCRYPT; default <first redirect URI's origin>/login/jwks
//   OP_ENCRYPT=1     ID tokens and userinfo are signed JWTs encrypted to the client's key
//                    (ECDH-ES, OP_ENCRYPT_ENC, default A256GCM)
//   OP_CLIENT_AUTH   the client's token endpoint authentication; default client_secret_basic
//   TRUSTC_DEV_LOGIN_SECRET  the client secret of `trustc-dev`; default trustc-dev-secret
//
// Test hooks (POST, on the issuer; not for production, like everything here):
//   /__test/next-login?account=bob        auto mode: who the next login is
//   /__test/tamper?what=nonce|aud|iss|exp|signature|none
//                                         the NEXT ID token is wrong in exactly that way
//                                         (re-signed with the provider's own key, then encrypted
//                                         as usual when OP_ENCRYPT)
//   /__test/slow?ms=3000[&times=1]        the next `times` token requests wait `ms` first
//   /__test/drop[?times=1]                the next `times` token requests get their connection
//                                         closed with no answer (the provider unreachable)
//   /__test/client?redirect_uri=…[&redirect_uri=…][&jwks_uri=…]
//                                         registers `trustc-dev` again with these URIs (a test
//                                         learns trustc's port after the provider started)
//
// Prints `OP_READY <issuer>` on stdout once it listens; exits 0 on SIGTERM or SIGINT.

import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'

import * as jose from 'jose'
import { Provider } from 'oidc-provider'

import { ACCOUNTS, CLAIMS_BY_SCOPE } from './op_accounts.mjs'

const mode = process.env.OP_MODE ?? 'dev'
if (!['dev', 'auto'].includes(mode)) fail(`OP_MODE is dev or auto, not ${mode}`)
const encrypt = process.env.OP_ENCRYPT === '1'
const CLIENT_ID = 'trustc-dev'
const ACR_VALUES = ['urn:example:loa:1', 'urn:example:loa:2', 'urn:example:loa:3']

// The listening socket first: with OP_PORT=0 the issuer names the port the system chose.
const servers = [createServer()]
const port = await listen(servers[0], Number(process.env.OP_PORT ?? 8700), '127.0.0.1')
const issuer = process.env.OP_ISSUER ?? `http://localhost:${port}`
if (new URL(issuer).hostname === 'localhost') {
  // `localhost` may resolve to ::1 first; answer there too when the system has IPv6.
  const v6 = createServer()
  if (await listen(v6, port, '::1').catch(() => null)) servers.push(v6)
}

const redirectUris = (process.env.RP_REDIRECT_URI ??
  'http://127.0.0.1:8080/login/callback,http://localhost:8080/login/callback')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean)

// The provider's signing keys: made here, so that the tamper hook can re-sign with them.
const signingKeys = await Promise.all(
  ['RS256', 'ES256'].map(async (alg) => {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true })
    return { ...(await jose.exportJWK(privateKey)), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` }
  }),
)

let nextLogin = process.env.OP_AUTO_ACCOUNT ?? 'alice'
let tamper = null
let slow = { ms: 0, times: 0 }
let drops = 0

const provider = new Provider(issuer, {
  acrValues: ACR_VALUES,
  claims: CLAIMS_BY_SCOPE,
  scopes: Object.keys(CLAIMS_BY_SCOPE),
  // The scopes' claims in the ID token too (by default only at /userinfo), as BCSC can.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  jwks: { keys: signingKeys },
  enabledJWA: {
    idTokenEncryptionAlgValues: ['ECDH-ES', 'RSA-OAEP', 'RSA-OAEP-256'],
    userinfoEncryptionAlgValues: ['ECDH-ES', 'RSA-OAEP', 'RSA-OAEP-256'],
    idTokenEncryptionEncValues: ['A128GCM', 'A256GCM', 'A128CBC-HS256'],
    userinfoEncryptionEncValues: ['A128GCM', 'A256GCM', 'A128CBC-HS256'],
  },
  features: {
    devInteractions: { enabled: mode === 'dev' },
    userinfo: { enabled: true },
    claimsParameter: { enabled: true },
    encryption: { enabled: true },
    jwtUserinfo: { enabled: true },
    // Off: `resourceIndicators` would change how access tokens are made, not what trustc reads.
  },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id]
    return account && { accountId: id, async claims() { return { sub: id, ...account.claims } } }
  },
  async loadExistingGrant(ctx) {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
    if (id) return ctx.oidc.provider.Grant.find(id)
    if (mode !== 'auto') return undefined
    // Auto mode: no consent screen; everything asked for is granted.
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '))
    grant.addOIDCClaims(Object.values(CLAIMS_BY_SCOPE).flat())
    await grant.save()
    return grant
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // The client's keys (jwks_uri) are on loopback here, which oidc-provider's SSRF guard (its
  // dispatcher) refuses: a development provider fetches them without it.
  fetch: (url, { dispatcher: _, ...options }) => globalThis.fetch(url, options),
  ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
  async renderError(ctx, { error, error_description: description }) {
    ctx.type = 'html'
    ctx.body = `<!DOCTYPE html><title>Sign-in error</title><h1>${escape(error)}</h1><p>${escape(description ?? '')}</p>`
  },
})
provider.proxy = false

await registerClient({ redirect_uris: redirectUris, jwks_uri: process.env.RP_JWKS_URI })

// The login result carries the account's assurance (`acr`), in both modes.
const interactionFinished = provider.interactionFinished.bind(provider)
provider.interactionFinished = (req, res, result, options) => {
  if (result?.login?.accountId && !result.login.acr) {
    result.login.acr = ACCOUNTS[result.login.accountId]?.acr
  }
  return interactionFinished(req, res, result, options)
}

// A pending tamper spoils the next ID token (before it is encrypted).
const issue = provider.IdToken.prototype.issue
provider.IdToken.prototype.issue = async function issueMaybeTampered(options = {}) {
  if (options.use !== 'idtoken' || tamper === null) {
    const token = await issue.call(this, options)
    // The log says what the client received, for the tests to check.
    if (token.split('.').length === 5) log(`encrypted ${options.use === 'idtoken' ? 'ID token' : options.use} (${jose.decodeProtectedHeader(token).alg})`)
    return token
  }
  const what = tamper
  tamper = null
  const client = this.client
  const encryption = { alg: client.idTokenEncryptedResponseAlg, enc: client.idTokenEncryptedResponseEnc }
  client.idTokenEncryptedResponseEnc = undefined
  let signed
  try {
    signed = await issue.call(this, options)
  } finally {
    client.idTokenEncryptedResponseEnc = encryption.enc
  }
  const altered = await alterIdToken(signed, what, signingKeys)
  log(`tampered ID token: ${what}`)
  if (!encryption.enc) return altered
  await client.asymmetricKeyStore.refresh()
  const [jwk] = client.asymmetricKeyStore.selectForEncrypt({ alg: encryption.alg, use: 'enc' })
  if (!jwk) throw new Error(`the client publishes no ${encryption.alg} key`)
  return new jose.CompactEncrypt(new TextEncoder().encode(altered))
    .setProtectedHeader({ alg: encryption.alg, enc: encryption.enc, cty: 'JWT', kid: jwk.kid })
    .encrypt(client.asymmetricKeyStore.getKeyObject(jwk, true))
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/__test/')) return testHook(ctx)
  if (ctx.method === 'POST' && ctx.path === '/token' && drops > 0) {
    drops -= 1
    log('token request dropped')
    ctx.respond = false
    ctx.req.socket.destroy()
    return undefined
  }
  if (ctx.method === 'POST' && ctx.path === '/token' && slow.times > 0) {
    slow.times -= 1
    log(`token request held ${slow.ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, slow.ms))
  }
  if (mode === 'auto' && ctx.path === '/auth') forgetSession(ctx)
  if (mode === 'auto' && ctx.method === 'GET' && /^\/interaction\/[\w-]+$/.test(ctx.path)) return autoLogin(ctx)
  return next()
})

for (const server of servers) server.on('request', provider.callback())
console.log(`OP_READY ${issuer}`)
log(`mode ${mode}${encrypt ? ', encrypted ID tokens and userinfo' : ''}; client ${CLIENT_ID} -> ${redirectUris.join(' ')}`)
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
    process.exit(0)
  })
}

/// Registers (or registers again) the client trustc is, validated as oidc-provider validates it.
async function registerClient({ redirect_uris, jwks_uri }) {
  const metadata = {
    client_id: CLIENT_ID,
    client_secret: process.env.TRUSTC_DEV_LOGIN_SECRET ?? 'trustc-dev-secret',
    redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: process.env.OP_CLIENT_AUTH ?? 'client_secret_basic',
  }
  if (encrypt) {
    Object.assign(metadata, {
      jwks_uri: jwks_uri ?? `${new URL(redirect_uris[0]).origin}/login/jwks`,
      id_token_encrypted_response_alg: 'ECDH-ES',
      id_token_encrypted_response_enc: process.env.OP_ENCRYPT_ENC ?? 'A256GCM',
      userinfo_signed_response_alg: 'RS256',
      userinfo_encrypted_response_alg: 'ECDH-ES',
      userinfo_encrypted_response_enc: process.env.OP_ENCRYPT_ENC ?? 'A256GCM',
    })
  }
  await provider.Client.validate(metadata)
  await provider.Client.adapter.upsert(CLIENT_ID, metadata)
  return metadata
}

async function testHook(ctx) {
  const query = new URL(ctx.href).searchParams
  const answer = (status, body) => {
    ctx.status = status
    ctx.body = body
  }
  switch (ctx.path) {
    case '/__test/next-login': {
      const account = query.get('account')
      if (!ACCOUNTS[account]) return answer(400, { error: `no account ${account}; one of ${Object.keys(ACCOUNTS)}` })
      nextLogin = account
      return answer(200, { next_login: account })
    }
    case '/__test/tamper': {
      const what = query.get('what')
      if (!['nonce', 'aud', 'iss', 'exp', 'signature', 'none'].includes(what)) {
        return answer(400, { error: `tamper what=nonce|aud|iss|exp|signature|none, not ${what}` })
      }
      tamper = what
      return answer(200, { tamper })
    }
    case '/__test/slow': {
      const ms = Number(query.get('ms'))
      const times = Number(query.get('times') ?? 1)
      if (!Number.isInteger(ms) || ms < 0 || !Number.isInteger(times) || times < 0) {
        return answer(400, { error: 'slow?ms=<milliseconds>&times=<count>' })
      }
      slow = { ms, times }
      return answer(200, slow)
    }
    case '/__test/drop': {
      const times = Number(query.get('times') ?? 1)
      if (!Number.isInteger(times) || times < 0) return answer(400, { error: 'drop?times=<count>' })
      drops = times
      return answer(200, { drop: times })
    }
    case '/__test/client': {
      const uris = query.getAll('redirect_uri')
      try {
        const metadata = await registerClient({
          redirect_uris: uris.length > 0 ? uris : redirectUris,
          jwks_uri: query.get('jwks_uri') ?? undefined,
        })
        log(`client ${CLIENT_ID} -> ${metadata.redirect_uris.join(' ')}${metadata.jwks_uri ? ` keys ${metadata.jwks_uri}` : ''}`)
        const { client_secret: _, ...shown } = metadata
        return answer(200, shown)
      } catch (error) {
        return answer(400, { error: error.message, error_description: error.error_description })
      }
    }
    default:
      return answer(404, { error: `no test hook ${ctx.path}` })
  }
}

/// Auto mode: the interaction logs `login_hint`'s or the chosen account in and goes on.
async function autoLogin(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res)
  const accountId = details.params.login_hint ?? nextLogin
  if (details.prompt.name !== 'login' || !ACCOUNTS[accountId]) {
    ctx.status = 400
    ctx.body = `auto mode: cannot finish a ${details.prompt.name} prompt for account ${accountId}`
    return
  }
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId } }, { mergeWithLastSubmission: false })
}

/// A signed ID token wrong in exactly one way (`what`), signed again with the provider's own key
/// where the signature must stay valid.
async function alterIdToken(signed, what, keys) {
  const [headerPart, payloadPart, signature] = signed.split('.')
  const header = JSON.parse(Buffer.from(headerPart, 'base64url'))
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url'))
  const now = Math.floor(Date.now() / 1000)
  switch (what) {
    case 'signature': {
      // One character in the middle of the signature changed (the last one may be padding bits).
      const at = Math.floor(signature.length / 2)
      const swapped = signature[at] === 'A' ? 'B' : 'A'
      return `${headerPart}.${payloadPart}.${signature.slice(0, at)}${swapped}${signature.slice(at + 1)}`
    }
    case 'none': {
      const unsigned = { ...header, alg: 'none' }
      delete unsigned.kid
      return `${Buffer.from(JSON.stringify(unsigned)).toString('base64url')}.${payloadPart}.`
    }
    case 'nonce':
      payload.nonce = randomBytes(16).toString('base64url')
      break
    case 'aud':
      payload.aud = 'another-client'
      break
    case 'iss':
      payload.iss = `${issuer}/another-issuer`
      break
    case 'exp':
      // Expired an hour ago, well past any clock leeway.
      payload.iat = now - 7200
      payload.exp = now - 3600
      if (payload.auth_time) payload.auth_time = now - 7200
      break
    default:
      throw new Error(`no tamper mode ${what}`)
  }
  const jwk = keys.find((key) => key.kid === header.kid)
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(await jose.importJWK(jwk, header.alg))
}

/// Auto mode: every authorization request logs in afresh (the account next-login names), even
/// in a browser that logged in before.
function forgetSession(ctx) {
  const cookies = (ctx.req.headers.cookie ?? '').split(/;\s*/).filter((c) => c && !c.startsWith('_session'))
  ctx.req.headers.cookie = cookies.join('; ')
  ctx.request.header.cookie = ctx.req.headers.cookie
}

/// Listens on `host:port`; the port bound.
function listen(server, wanted, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(wanted, host, () => resolve(server.address().port))
  })
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function log(message) {
  console.error(`op: ${message}`)
}

function fail(message) {
  console.error(`op: ${message}`)
  process.exit(2)
}
