// A wallet made of third-party libraries that presents one credential to receive another, run
// against two live `trustc serve` instances of the shipped example: the province issues a Person
// SD-JWT VC, and the Law Society issues the Lawyer credential only after the holder presented that
// Person credential with OpenID4VP 1.0 during issuance (the OAuth 2.0 first-party apps
// authorization challenge, as @openid4vc/openid4vci 0.4.6 and Credo implement it). The protocol
// code is the libraries': @openid4vc/openid4vci and /openid4vp 0.4.6 (Credo's engine), dcql 3.0.0
// (the DCQL query) and @sd-jwt/sd-jwt-vc 0.19.0 (the presentation and its key-binding JWT). This
// script only supplies what a wallet supplies: keys, trust decisions and the glue between them
// (see /work/shared/reference/oid4vp.md §1-§4 and §6 for what each library does and does not do).
//
// Usage:
//   node presentation.mjs person INPUT.json
//     INPUT: { "offer": <credential offer URI of a Person offer>, "tx_code": <string|null>,
//              "alg": "ES256"|"EdDSA", "resolve": { <did:web host>: <base URL>, … } }
//     Redeems the pre-authorized code, proves possession of a fresh `alg` holder key, receives the
//     Person credential and verifies it with the issuer key its `iss` names (a did:web document,
//     fetched from the base URL `resolve` maps its host to, or /.well-known/jwt-vc-issuer for an
//     https or loopback http identifier), status list included. Prints
//     { credential, holder_jwk_private, … what it saw }.
//   node presentation.mjs lawyer INPUT.json
//     INPUT: { "offer": <credential offer URI of a Lawyer offer>, "person_credential",
//              "holder_jwk_private", "alg", "resolve", "tamper": null | <one of TAMPER_MODES> }
//     The whole flow: authorization challenge → `insufficient_authorization` with the OpenID4VP
//     request → the signed request object (x5c; trusted only when its self-signed certificate
//     matches the client identifier) → DCQL query → presentation with a key-binding JWT for the
//     full client identifier, the request's nonce and a fresh iat → `direct_post` or
//     `direct_post.jwt` (ECDH-ES to the verifier's key) → `presentation_during_issuance_session` →
//     authorization code → token (PKCE) → nonce → key proof with the same holder key → the Lawyer
//     credential, verified like the Person credential. With `tamper`, one step is spoiled as named
//     and the run ends at the step the server must refuse; the summary's `refused` says where and
//     with what (`accepted` when the server let it through).
//   node presentation.mjs redeem INPUT.json
//     INPUT: as for `person`, plus "holder_jwk_private": the key the credential is bound to.
//     Redeems any pre-authorised offer (the holder's web page shows the Lawyer offer as one once
//     the Person credential was presented) with that holder key, and checks the credential.
//   node presentation.mjs answer INPUT.json
//     INPUT: { "request": <an openid4vp:// URL, as the holder's web page shows it>,
//              "person_credential", "holder_jwk_private", "alg" }
//     Answers that request with the Person credential (request object, DCQL, presentation with
//     its key-binding JWT, `direct_post` or `direct_post.jwt`), as `lawyer` does during issuance;
//     prints what the verifier answered (its `redirect_uri` back to the page).
//   node presentation.mjs self-test
//     No server: issues a Person credential locally with @sd-jwt and checks that each tamper mode's
//     presentation is spoiled in exactly the way it claims (and only that way).
//
// Prints one JSON summary on stdout and exits 0, also when the server refused a step (the Rust
// test decides what is right). A failure of the wallet itself (a library refusing what the server
// sent, a missing field) prints the summary so far with `failure` and exits 1.

import { readFile } from 'node:fs/promises'
import { X509Certificate, createHash } from 'node:crypto'

import { AuthorizationFlow, Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'
import { clientAuthenticationNone } from '@openid4vc/oauth2'
import { Openid4vpClient, parseOpenid4vpAuthorizationRequest } from '@openid4vc/openid4vp'
import { DcqlQuery } from 'dcql'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'
import * as jose from 'jose'

import { nodeCallbacks } from './callbacks.mjs'
import {
  Accepted,
  Refusal,
  describe,
  httpAnswer,
  located,
  mustRefuse,
  now,
  outcome,
  pick,
  randomToken,
  runCommand,
  step,
  usage,
} from './steps.mjs'
import {
  checkCredential,
  credentialClaims,
  describeOffer,
  holderFromPrivateJwk,
  holderSignJwt,
  newHolder,
  receiveCredential,
  sdJwtInstance,
  signDetached,
} from './wallet.mjs'

/// The ways `lawyer` can spoil the flow; each must make the server refuse.
export const TAMPER_MODES = [
  'aud-without-prefix', // KB-JWT `aud` = the client identifier without its prefix
  'wrong-aud', // KB-JWT `aud` = another verifier's client identifier
  'wrong-nonce', // KB-JWT `nonce` ≠ the request's
  'stale-iat', // KB-JWT `iat` an hour ago
  'tampered-disclosure', // one disclosure's value changed (a fresh KB-JWT over the changed bytes)
  'extra-undisclosed', // `family_name` not disclosed although the query asks for it
  'replay', // the accepted response sent a second time
  'reuse-session', // the authorization code asked for twice with the same session
  'no-presentation', // the authorization code asked for before presenting
  'wrong-pkce', // the token request with another PKCE verifier
  'wrong-state', // the response for a `state` the verifier never issued
  'huge-vp-token', // a vp_token of about 1 MiB
]

/// The wallet's OAuth client identifier (a public client: no authentication, PKCE).
const WALLET_CLIENT_ID = 'wallet-app'
/// The scope of the Lawyer credential configuration.
const LAWYER_SCOPE = 'lawyer'
/// What the wallet accepts for `direct_post.jwt`, as Credo's holder sets it.
const JARM_SERVER_METADATA = {
  authorization_signing_alg_values_supported: ['ES256', 'EdDSA'],
  authorization_encryption_alg_values_supported: ['ECDH-ES'],
  authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM', 'A128CBC-HS256'],
}
/// The Person credential type of the shipped example (for the self-test).
const PERSON_VCT = 'https://credentials.gov.bc.example/person/v1'

// The servers run on plain http on loopback in the test; the libraries otherwise insist on https.
setGlobalConfig({ allowInsecureUrls: true })

const [command, ...args] = process.argv.slice(2)
const summary = { command }
await runCommand(summary, () => {
  if (command === 'person' && args.length === 1) return person(args[0])
  if (command === 'redeem' && args.length === 1) return person(args[0], { keepHolder: true })
  if (command === 'answer' && args.length === 1) return answer(args[0])
  if (command === 'lawyer' && args.length === 1) return lawyer(args[0])
  if (command === 'self-test' && args.length === 0) return selfTest()
  return usage(
    'node presentation.mjs person INPUT.json',
    'node presentation.mjs redeem INPUT.json',
    'node presentation.mjs answer INPUT.json',
    'node presentation.mjs lawyer INPUT.json',
    'node presentation.mjs self-test',
  )
})

// ---------------------------------------------------------------------------------------------
// person: a Person credential from the province (pre-authorized code flow)

async function person(inputPath, { keepHolder = false } = {}) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  const holder = keepHolder
    ? await holderFromPrivateJwk(input.holder_jwk_private, input.alg)
    : await newHolder(input.alg)
  const client = new Openid4vciClient({ callbacks: { ...nodeCallbacks(), signJwt: holderSignJwt(holder) } })

  const offer = await step('offer', () => client.resolveCredentialOffer(input.offer))
  summary.offer = describeOffer(offer)
  const metadata = await step('metadata', () => client.resolveIssuerMetadata(offer.credential_issuer))
  const { accessTokenResponse } = await step('token', () =>
    client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: metadata,
      txCode: input.tx_code ?? undefined,
    }),
  )
  const configuration = offer.credential_configuration_ids[0]
  const credential = await receiveCredential(client, metadata, accessTokenResponse, configuration, holder)
  summary.credential = credential
  summary.holder_jwk_private = holder.privateJwk
  summary.holder_jwk_public = holder.publicJwk
  summary.alg = holder.alg
  summary.checked = await checkCredential(credential, input.resolve ?? {}, holder)
}

// ---------------------------------------------------------------------------------------------
// lawyer: the Lawyer credential, after presenting the Person credential during issuance

async function lawyer(inputPath) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  const tamper = input.tamper ?? null
  if (tamper !== null && !TAMPER_MODES.includes(tamper)) {
    throw new Error(`unknown tamper mode ${JSON.stringify(tamper)}; one of ${TAMPER_MODES.join(', ')}`)
  }
  summary.tamper = tamper
  const holder = await holderFromPrivateJwk(input.holder_jwk_private, input.alg)
  summary.alg = holder.alg
  summary.request = {}
  const callbacks = {
    ...nodeCallbacks(),
    // A public client: `client_id` in the body, no secret (token_endpoint_auth_method `none`).
    clientAuthentication: clientAuthenticationNone({ clientId: WALLET_CLIENT_ID }),
    signJwt: holderSignJwt(holder),
    verifyJwt: verifyRequestObject(summary.request),
    getX509CertificateMetadata: x509Metadata,
    encryptJwe,
    decryptJwe: async () => {
      throw new Error('the verifier encrypted its request object; this wallet expects a signed one')
    },
  }
  const vci = new Openid4vciClient({ callbacks })
  const vp = new Openid4vpClient({ callbacks })

  // 1. The offer and the metadata: an authorization code grant with issuer_state, and an
  //    authorization server with a challenge endpoint and PKCE.
  const offer = await step('offer', () => vci.resolveCredentialOffer(input.offer))
  summary.offer = describeOffer(offer)
  const metadata = await step('metadata', () => vci.resolveIssuerMetadata(offer.credential_issuer))
  const server = metadata.authorizationServers?.[0] ?? {}
  summary.authorization_server = pick(server, [
    'issuer',
    'authorization_challenge_endpoint',
    'token_endpoint',
    'code_challenge_methods_supported',
    'token_endpoint_auth_methods_supported',
    'grant_types_supported',
  ])
  const configuration = offer.credential_configuration_ids[0]

  // 2. The first challenge: the server wants a presentation first.
  const pkceCodeVerifier = randomToken(32)
  const authorization = await step('challenge', () =>
    vci.initiateAuthorization({
      clientId: WALLET_CLIENT_ID,
      issuerMetadata: metadata,
      credentialOffer: offer,
      scope: LAWYER_SCOPE,
      pkceCodeVerifier,
    }),
  )
  summary.challenge = {
    flow: authorization.authorizationFlow,
    auth_session: typeof authorization.authSession === 'string',
    presentation: authorization.openid4vpRequestUrl ?? null,
  }
  if (authorization.authorizationFlow !== AuthorizationFlow.PresentationDuringIssuance) {
    throw located(
      'challenge',
      new Error(`the challenge did not ask for a presentation (flow ${authorization.authorizationFlow})`),
    )
  }
  const askForCode = (presentationDuringIssuanceSession) =>
    vci.retrieveAuthorizationCodeUsingPresentation({
      authSession: authorization.authSession,
      presentationDuringIssuanceSession,
      credentialOffer: offer,
      issuerMetadata: metadata,
    })
  if (tamper === 'no-presentation') {
    await mustRefuse('authorization-code', () => askForCode(undefined))
  }

  // 3. The OpenID4VP request, by reference, signed by the verifier.
  const parsed = await step('request', () =>
    parseOpenid4vpAuthorizationRequest({ authorizationRequest: authorization.openid4vpRequestUrl }),
  )
  Object.assign(summary.request, {
    type: parsed.type,
    parameters: Object.keys(parsed.params).sort(),
    client_id: parsed.params.client_id ?? null,
    request_uri: parsed.params.request_uri ?? null,
    request_uri_method: parsed.params.request_uri_method ?? null,
  })
  const resolved = await step('request', () =>
    vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params }),
  )
  const request = resolved.authorizationRequestPayload
  const { x5c, ...jarHeader } = resolved.jar?.jwt?.header ?? {}
  Object.assign(summary.request, {
    version: resolved.version,
    client: pick(resolved.client, ['prefix', 'identifier', 'effective']),
    jar: resolved.jar
      ? { send_by: resolved.jar.sendBy, header: jarHeader, x5c_length: x5c?.length ?? 0 }
      : null,
    response_type: request.response_type ?? null,
    response_mode: request.response_mode ?? null,
    response_uri: request.response_uri ?? null,
    nonce: typeof request.nonce === 'string' && request.nonce.length > 0,
    state: typeof request.state === 'string',
    dcql_query: resolved.dcql?.query ?? null,
    client_metadata: request.client_metadata ?? null,
  })

  // 4. What the query asks for, matched against the Person credential with dcql.
  const personClaims = await sdJwtInstance({ holder }).getClaims(input.person_credential)
  const match = await step('dcql', () => matchQuery(resolved.dcql?.query, personClaims))
  summary.dcql = { query_id: match.queryId, frame: match.frame }

  // 5. The presentation, bound to this request, sent to the response URI.
  const presentation = await presentPerson({
    credential: input.person_credential,
    holder,
    frame: match.frame,
    client: resolved.client,
    nonce: request.nonce,
    tamper,
  })
  summary.presentation = describePresentation(presentation)
  const vpToken = { [match.queryId]: [tamper === 'huge-vp-token' ? hugePresentation(presentation) : presentation] }
  // The library copies `state` from the request it is given.
  const answered = tamper === 'wrong-state' ? { ...request, state: randomToken(16) } : request
  const created = await step('response', () => createResponse(vp, answered, vpToken))
  summary.response = {
    mode: request.response_mode ?? null,
    state_sent: created.authorizationResponsePayload.state ?? null,
    state_is_the_requests: created.authorizationResponsePayload.state === request.state,
    vp_token_bytes: JSON.stringify(vpToken).length,
    jwe_header: created.jarm ? jose.decodeProtectedHeader(created.jarm.responseJwt) : null,
    encryption_jwk_kid: created.jarm?.encryptionJwk?.kid ?? null,
  }
  const submit = () => submitResponse(vp, answered, created)
  const answer = await httpAnswer('response', submit)
  summary.verifier_response = answer
  if (!answer.ok) {
    // No authorization code may come of a refused presentation.
    summary.code_after_refusal = await outcome(() => askForCode(undefined))
    throw new Refusal('response', answer)
  }
  if (tamper !== null && !['replay', 'reuse-session', 'wrong-pkce'].includes(tamper)) {
    throw new Accepted('response', answer)
  }
  const session = answer.body?.presentation_during_issuance_session
  if (typeof session !== 'string' || session.length === 0) {
    throw located(
      'response',
      new Error(`the verifier's answer has no presentation_during_issuance_session: ${JSON.stringify(answer)}`),
    )
  }
  if (tamper === 'replay') {
    const again = await httpAnswer('response-replay', submit)
    summary.replayed_response = again
    if (!again.ok) throw new Refusal('response-replay', again)
    throw new Accepted('response-replay', again)
  }

  // 6. The authorization code for the verified presentation, and the token (PKCE).
  const { authorizationChallengeResponse } = await step('authorization-code', () => askForCode(session))
  summary.authorization_code = {
    fields: Object.keys(authorizationChallengeResponse).sort(),
    issued: typeof authorizationChallengeResponse.authorization_code === 'string',
  }
  if (tamper === 'reuse-session') {
    await mustRefuse('authorization-code-reuse', () => askForCode(session))
  }
  const token = (verifier) =>
    vci.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata: metadata,
      credentialOffer: offer,
      authorizationCode: authorizationChallengeResponse.authorization_code,
      pkceCodeVerifier: verifier,
    })
  if (tamper === 'wrong-pkce') {
    await mustRefuse('token', () => token(randomToken(32)))
  }
  const { accessTokenResponse } = await step('token', () => token(pkceCodeVerifier))
  summary.token = { token_type: accessTokenResponse.token_type, expires_in: accessTokenResponse.expires_in ?? null }

  // 7. The Lawyer credential, bound to the same holder key.
  const credential = await receiveCredential(vci, metadata, accessTokenResponse, configuration, holder)
  summary.credential = credential
  summary.checked = await checkCredential(credential, input.resolve ?? {}, holder)
  summary.person_cnf_is_lawyer_cnf =
    (await jose.calculateJwkThumbprint(personClaims.cnf?.jwk ?? {}).catch(() => null)) ===
    (await jose.calculateJwkThumbprint(summary.checked.registered.cnf?.jwk ?? {}).catch(() => undefined))
}

// ---------------------------------------------------------------------------------------------
// answer: the holder's web page's request, answered with the Person credential

async function answer(inputPath) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  const holder = await holderFromPrivateJwk(input.holder_jwk_private, input.alg)
  summary.alg = holder.alg
  summary.request = {}
  const vp = new Openid4vpClient({
    callbacks: {
      ...nodeCallbacks(),
      signJwt: holderSignJwt(holder),
      verifyJwt: verifyRequestObject(summary.request),
      getX509CertificateMetadata: x509Metadata,
      encryptJwe,
      decryptJwe: async () => {
        throw new Error('the verifier encrypted its request object; this wallet expects a signed one')
      },
    },
  })
  const parsed = await step('request', () =>
    parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.request }),
  )
  const resolved = await step('request', () =>
    vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params }),
  )
  const request = resolved.authorizationRequestPayload
  Object.assign(summary.request, {
    type: parsed.type,
    client: pick(resolved.client, ['prefix', 'identifier', 'effective']),
    response_mode: request.response_mode ?? null,
    response_uri: request.response_uri ?? null,
    dcql_query: resolved.dcql?.query ?? null,
  })
  const personClaims = await sdJwtInstance({ holder }).getClaims(input.person_credential)
  const match = await step('dcql', () => matchQuery(resolved.dcql?.query, personClaims))
  const presentation = await presentPerson({
    credential: input.person_credential,
    holder,
    frame: match.frame,
    client: resolved.client,
    nonce: request.nonce,
    tamper: null,
  })
  summary.presentation = describePresentation(presentation)
  const created = await step('response', () =>
    createResponse(vp, request, { [match.queryId]: [presentation] }),
  )
  const verifierAnswer = await httpAnswer('response', () => submitResponse(vp, request, created))
  summary.verifier_response = verifierAnswer
  if (!verifierAnswer.ok) throw new Refusal('response', verifierAnswer)
}

/// The wallet's authorization response to `request` carrying `vpToken`, encrypted to the
/// verifier's key when the request asks for `direct_post.jwt`.
function createResponse(vp, request, vpToken) {
  const jarm =
    request.response_mode === 'direct_post.jwt'
      ? { encryption: { nonce: randomToken(16) }, serverMetadata: JARM_SERVER_METADATA }
      : undefined
  return vp.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm,
  })
}

/// Posts a created response to the request's response URI; the raw fetch `Response`.
async function submitResponse(vp, request, created) {
  const submitted = await vp.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: created.authorizationResponsePayload,
    jarm: created.jarm && { responseJwt: created.jarm.responseJwt },
  })
  return submitted.response
}

// ---------------------------------------------------------------------------------------------
// The presentation and its tamper modes (shared by `lawyer`, `answer` and `self-test`)

/// The holder's presentation of the Person credential for a request: the frame's claims disclosed,
/// a key-binding JWT for the full client identifier, the request's nonce and the current time,
/// unless `tamper` spoils one of these.
async function presentPerson({ credential, holder, frame, client, nonce, tamper }) {
  const kb = { aud: client.effective, nonce, iat: now() }
  let disclosed = frame
  switch (tamper) {
    case 'aud-without-prefix':
      kb.aud = client.identifier
      break
    case 'wrong-aud':
      kb.aud = anotherClientId(client)
      break
    case 'wrong-nonce':
      kb.nonce = randomToken(16)
      break
    case 'stale-iat':
      kb.iat = now() - 3600
      break
    case 'extra-undisclosed': {
      const { family_name: _, ...rest } = frame
      disclosed = rest
      break
    }
    default:
      break
  }
  const sdjwt = sdJwtInstance({ holder })
  if (tamper !== 'tampered-disclosure') {
    return sdjwt.present(credential, disclosed, { kb: { payload: kb } })
  }
  // One disclosure's value replaced (salt and name kept), then a key-binding JWT over exactly the
  // bytes sent, so that only the disclosure's digest gives it away.
  const withoutKb = await sdjwt.present(credential, disclosed)
  const tampered = tamperDisclosure(withoutKb)
  return `${tampered}${await keyBindingJwt(holder, tampered, kb)}`
}

/// Another verifier's client identifier with the same prefix.
function anotherClientId(client) {
  const prefix = client.prefix && client.prefix !== 'pre-registered' ? `${client.prefix}:` : ''
  if (client.prefix === 'x509_hash') {
    return `${prefix}${createHash('sha256').update('another verifier').digest('base64url')}`
  }
  return `${prefix}another-verifier.example`
}

/// `<jwt>~<d1>~…~` with the first disclosure's value changed.
function tamperDisclosure(sdJwtWithoutKb) {
  const parts = sdJwtWithoutKb.split('~')
  const index = parts.findIndex((part, i) => i > 0 && part.length > 0)
  if (index < 0) throw new Error('no disclosure to tamper with')
  const disclosure = JSON.parse(Buffer.from(parts[index], 'base64url').toString('utf8'))
  if (!Array.isArray(disclosure) || disclosure.length !== 3) throw new Error('not an object property disclosure')
  const [salt, name, value] = disclosure
  const changed = typeof value === 'string' ? `${value} Mallory` : 'Mallory'
  parts[index] = Buffer.from(JSON.stringify([salt, name, changed])).toString('base64url')
  return parts.join('~')
}

/// A key-binding JWT over `sdJwtWithoutKb` (which ends with `~`), signed with the holder key.
async function keyBindingJwt(holder, sdJwtWithoutKb, { aud, nonce, iat }) {
  const sdHash = createHash('sha256').update(sdJwtWithoutKb, 'ascii').digest('base64url')
  return new jose.SignJWT({ iat, aud, nonce, sd_hash: sdHash })
    .setProtectedHeader({ typ: 'kb+jwt', alg: holder.alg })
    .sign(holder.privateKey)
}

/// A presentation padded to about 1 MiB with a disclosure no digest references.
function hugePresentation(presentation) {
  const parts = presentation.split('~')
  const padding = Buffer.from(JSON.stringify([randomToken(16), 'padding', 'x'.repeat(786432)])).toString('base64url')
  parts.splice(parts.length - 1, 0, padding)
  return parts.join('~')
}

/// The credential query id and the @sd-jwt presentation frame that satisfies `query`.
function matchQuery(query, claims) {
  if (!query) throw new Error('the request has no dcql_query')
  const parsed = DcqlQuery.parse(query)
  DcqlQuery.validate(parsed)
  const credential = { credential_format: 'dc+sd-jwt', vct: claims.vct, claims, cryptographic_holder_binding: true }
  const result = DcqlQuery.query(parsed, [credential])
  if (!result.can_be_satisfied) {
    throw new Error(`the Person credential does not satisfy the query: ${JSON.stringify(result.credential_matches)}`)
  }
  const [queryId, match] = Object.entries(result.credential_matches).find(([, m]) => m.success) ?? []
  const output = match?.valid_credentials?.[0]?.claims?.valid_claim_sets?.[0]?.output
  if (!output) throw new Error(`no claim set in the match: ${JSON.stringify(match)}`)
  return { queryId, frame: frameOf(output) }
}

/// An @sd-jwt presentation frame disclosing every claim of a DCQL claim set's output.
function frameOf(output) {
  return Object.fromEntries(
    Object.entries(output).map(([name, value]) =>
      value !== null && typeof value === 'object' && !Array.isArray(value) ? [name, frameOf(value)] : [name, true],
    ),
  )
}

/// What a presentation discloses and binds to, decoded without verifying.
function describePresentation(presentation) {
  const parts = presentation.split('~')
  const kbJwt = parts[parts.length - 1]
  const disclosures = parts.slice(1, -1).filter((part) => part.length > 0)
  return {
    bytes: presentation.length,
    disclosed: disclosures
      .map((part) => {
        try {
          return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))[1]
        } catch {
          return null
        }
      })
      .sort(),
    kb_header: kbJwt ? jose.decodeProtectedHeader(kbJwt) : null,
    kb: kbJwt ? jose.decodeJwt(kbJwt) : null,
  }
}

// ---------------------------------------------------------------------------------------------
// self-test: the tamper modes against a credential made here

async function selfTest() {
  const issuerKeys = await jose.generateKeyPair('ES256', { extractable: true })
  const issuerJwk = { ...(await jose.exportJWK(issuerKeys.publicKey)), kid: 'self-test' }
  const issuer = new SDJwtVcInstance({
    hasher: digest,
    saltGenerator: generateSalt,
    signAlg: 'ES256',
    signer: async (data) => signDetached({ alg: 'ES256', privateKey: issuerKeys.privateKey }, data),
  })
  const query = {
    credentials: [
      {
        id: 'person',
        format: 'dc+sd-jwt',
        meta: { vct_values: [PERSON_VCT] },
        claims: [{ path: ['given_names'] }, { path: ['family_name'] }],
      },
    ],
  }
  summary.algs = {}
  for (const alg of ['ES256', 'EdDSA']) {
    const holder = await newHolder(alg)
    const credential = await issuer.issue(
      {
        iss: 'did:web:dev.credentials.gov.bc.example',
        vct: PERSON_VCT,
        iat: now(),
        cnf: { jwk: holder.publicJwk },
        given_names: 'Alex Jordan',
        family_name: 'Tremblay',
        birthdate: '1990-04-17',
        locality: 'Victoria',
      },
      { _sd: ['given_names', 'family_name', 'locality'] },
      { header: { typ: 'dc+sd-jwt', kid: issuerJwk.kid } },
    )
    const sdjwt = sdJwtInstance({
      holder,
      issuerKeys: { source: 'self-test', keys: [{ kid: issuerJwk.kid, jwk: issuerJwk, in_assertion_method: true }] },
    })
    const claims = await sdjwt.getClaims(credential)
    const match = matchQuery(query, claims)
    const client = { prefix: 'x509_san_dns', identifier: 'localhost', effective: 'x509_san_dns:localhost' }
    const nonce = randomToken(16)
    const report = { query_id: match.queryId, frame: match.frame, modes: {} }
    summary.algs[alg] = report
    // Every mode that changes the presentation (the others change the exchange around it).
    const modes = [null, 'aud-without-prefix', 'wrong-aud', 'wrong-nonce', 'stale-iat']
    modes.push('tampered-disclosure', 'extra-undisclosed', 'huge-vp-token')
    for (const tamper of modes) {
      const presentation = await presentPerson({ credential, holder, frame: match.frame, client, nonce, tamper })
      const sent = tamper === 'huge-vp-token' ? hugePresentation(presentation) : presentation
      const described = describePresentation(sent)
      const entry = {
        bytes: sent.length,
        disclosed: described.disclosed,
        kb_header: described.kb_header,
        kb_aud: described.kb.aud,
        kb_nonce_is_requests: described.kb.nonce === nonce,
        kb_iat_age: now() - described.kb.iat,
        // sd_hash over exactly the bytes before the KB-JWT, as a verifier computes it.
        sd_hash_matches:
          described.kb.sd_hash ===
          createHash('sha256').update(sent.slice(0, sent.lastIndexOf('~') + 1), 'ascii').digest('base64url'),
      }
      // @sd-jwt's own verifier: signature, disclosures, KB signature, nonce, sd_hash (not aud/iat).
      try {
        const verified = await sdjwt.verify(sent, { keyBindingNonce: nonce })
        entry.sdjwt_verify = { ok: true, claims: credentialClaims(verified.payload) }
      } catch (error) {
        entry.sdjwt_verify = { ok: false, error: describe(error) }
      }
      report.modes[tamper ?? 'honest'] = entry
    }
  }
  summary.modes = TAMPER_MODES
}

/// `verifyJwt` for the request object. The library checks the client identifier prefix's rules
/// (the SAN or hash matches, the response URI's host); the wallet decides whom to trust and checks
/// the signature. This wallet trusts exactly one kind of verifier: a single self-signed
/// certificate, currently valid, whose dNSName (`x509_san_dns:`) or SHA-256 (`x509_hash:`) is the
/// client identifier's. Records what it saw in `report.certificate`.
function verifyRequestObject(report) {
  return async (signer, { payload, compact }) => {
    if (signer.method !== 'x5c') {
      throw new Error(`the wallet accepts x5c-signed request objects only, not ${signer.method}`)
    }
    const chain = signer.x5c.map((der) => new X509Certificate(Buffer.from(der, 'base64')))
    const leaf = chain[0]
    const trust = trustOf(leaf, chain.length, payload.client_id)
    report.certificate = {
      subject: leaf.subject,
      subject_alt_name: leaf.subjectAltName ?? null,
      self_signed: leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey),
      chain_length: chain.length,
      key_type: leaf.publicKey.asymmetricKeyType,
      trusted: trust.ok,
      reason: trust.reason,
    }
    if (!trust.ok) return { verified: false }
    try {
      await jose.compactVerify(compact, leaf.publicKey, { algorithms: [signer.alg] })
    } catch (error) {
      report.certificate.signature_error = describe(error)
      return { verified: false }
    }
    report.certificate.signature_verified = true
    return { verified: true, signerJwk: await jose.exportJWK(leaf.publicKey) }
  }
}

/// Whether the wallet trusts the request object's certificate for `clientId`, and why.
function trustOf(leaf, chainLength, clientId) {
  if (chainLength !== 1) {
    return { ok: false, reason: `a chain of ${chainLength} certificates; the test trusts one self-signed one` }
  }
  if (!(leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey))) {
    return { ok: false, reason: 'the certificate is not self-signed' }
  }
  const time = Date.now()
  if (time < Date.parse(leaf.validFrom) || time > Date.parse(leaf.validTo)) {
    return { ok: false, reason: `not valid now (${leaf.validFrom} to ${leaf.validTo})` }
  }
  const separator = typeof clientId === 'string' ? clientId.indexOf(':') : -1
  const prefix = separator > 0 ? clientId.slice(0, separator) : null
  const identifier = separator > 0 ? clientId.slice(separator + 1) : null
  if (prefix === 'x509_san_dns') {
    return x509Metadata(leaf.raw.toString('base64')).sanDnsNames.includes(identifier)
      ? { ok: true, reason: `a dNSName of the certificate is ${identifier}` }
      : { ok: false, reason: `no dNSName of the certificate is ${identifier}` }
  }
  if (prefix === 'x509_hash') {
    const hash = createHash('sha256').update(leaf.raw).digest('base64url')
    return hash === identifier
      ? { ok: true, reason: 'the certificate hash is the client identifier' }
      : { ok: false, reason: `the certificate hash is ${hash}, not ${identifier}` }
  }
  return { ok: false, reason: `client identifier ${clientId} has no x509 prefix` }
}

/// `getX509CertificateMetadata`: the dNSName and URI subject alternative names of a certificate.
function x509Metadata(certificate) {
  const san = new X509Certificate(Buffer.from(certificate, 'base64')).subjectAltName ?? ''
  const names = san.split(/,\s*/).filter((entry) => entry.length > 0)
  const of = (type) =>
    names.filter((entry) => entry.startsWith(`${type}:`)).map((entry) => entry.slice(type.length + 1))
  return { sanDnsNames: of('DNS'), sanUriNames: of('URI') }
}

/// `encryptJwe` for `direct_post.jwt`: compact JWE to the verifier's key with the library's
/// algorithm and content encryption, its `kid`, and `apu`/`apv` when given.
async function encryptJwe(encryptor, data) {
  const header = { alg: encryptor.alg, enc: encryptor.enc }
  if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
  const parameters = {}
  if (encryptor.apu) parameters.apu = Buffer.from(encryptor.apu, 'base64url')
  if (encryptor.apv) parameters.apv = Buffer.from(encryptor.apv, 'base64url')
  const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data))
    .setProtectedHeader(header)
    .setKeyManagementParameters(parameters)
    .encrypt(await jose.importJWK(encryptor.publicJwk, encryptor.alg))
  return { encryptionJwk: encryptor.publicJwk, jwe }
}
