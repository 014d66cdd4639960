// A wallet made of third-party libraries, run against a live `trustc serve`: it receives SD-JWT VCs
// over OpenID4VCI 1.0 with @openid4vc/openid4vci (the engine of Credo's OpenID4VC module), then
// checks and presents them with the OpenWallet Foundation's @sd-jwt/* libraries, so the test
// proves that real holder and verifier code accepts what trustc issues, not only our own tests.
//
// Usage:
//   node issuance.mjs issue INPUT.json STATE.json
//     INPUT.json (written by tests/interop.rs):
//       { "issuer": "http://127.0.0.1:PORT", "audience": <the verifier the presentations are for>,
//         "holders": [ { "name", "configuration", "offer", "tx_code", "alg", "disclose": [...],
//                        "wrong_tx_code"?: true, "reuse_code"?: true, "replay_proof_of"?: NAME } ] }
//     For each holder in order: resolve the offer and the metadata, redeem the pre-authorized code
//     (after a wrong transaction code when `wrong_tx_code`; again after success when `reuse_code`),
//     get a nonce, prove possession of a fresh `alg` key, receive the credential (after replaying
//     the already used proof of holder NAME when `replay_proof_of`), verify it (signature,
//     disclosures, status list entry), present the `disclose` claims with a key-binding JWT and
//     verify the presentation. Writes the credentials and presentations to STATE.json.
//   node issuance.mjs after-revocation STATE.json
//     Reads each credential's status list entry again and verifies each credential with status
//     checking, to be run after the issuer revoked some of them.
//
// Prints one JSON summary on stdout and exits 0. Unexpected failures print the summary gathered
// so far on stdout and the error on stderr, and exit 1. Expected protocol errors (the negative
// checks) are recorded in the summary; the Rust test decides what is right.

import { readFile, writeFile } from 'node:fs/promises'
import { randomBytes, webcrypto } from 'node:crypto'

import { Openid4vciClient, Openid4vciRetrieveCredentialsError, setGlobalConfig } from '@openid4vc/openid4vci'
import { Oauth2ClientErrorResponseError } from '@openid4vc/oauth2'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { SDJwt } from '@sd-jwt/core'
import { ES256, digest } from '@sd-jwt/crypto-nodejs'
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import * as jose from 'jose'

import { nodeCallbacks, verifyKeyBinding } from './callbacks.mjs'

const [command, ...args] = process.argv.slice(2)

// Claims the SD-JWT VC specification registers; everything else is a credential claim.
const REGISTERED = ['iss', 'sub', 'vct', 'vct#integrity', 'iat', 'nbf', 'exp', 'cnf', 'status']

// The issuer runs on plain http on loopback in the test; the library otherwise insists on https.
setGlobalConfig({ allowInsecureUrls: true })

const summary = { command }
let code = 0
try {
  if (command === 'issue' && args.length === 2) await issue(...args)
  else if (command === 'after-revocation' && args.length === 1) await afterRevocation(...args)
  else {
    console.error('usage: node issuance.mjs issue INPUT.json STATE.json\n' +
      '       node issuance.mjs after-revocation STATE.json')
    process.exit(2)
  }
} catch (error) {
  console.error(`the holder failed: ${describe(error)}`)
  if (error?.stack) console.error(error.stack)
  summary.failure = describe(error)
  code = 1
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
process.exit(code)

async function issue(inputPath, statePath) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  const issuerKeys = await fetchIssuerKeys(input.issuer)
  summary.issuer_kids = issuerKeys.map((key) => key.kid)

  // Holder keys by JWK thumbprint: the client's signJwt callback receives the public JWK.
  const privateKeys = new Map()
  const client = new Openid4vciClient({
    callbacks: {
      ...nodeCallbacks(),
      signJwt: async (signer, { header, payload }) => {
        if (signer.method !== 'jwk') throw new Error(`the holder signs with jwk keys, not ${signer.method}`)
        const key = privateKeys.get(await jose.calculateJwkThumbprint(signer.publicJwk))
        if (!key) throw new Error('signJwt: no private key for the requested public JWK')
        const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(key)
        return { jwt, signerJwk: signer.publicJwk }
      },
    },
  })

  const state = { issuer: input.issuer, issuer_keys: issuerKeys, holders: {} }
  const proofs = {}
  summary.holders = {}
  for (const holder of input.holders) {
    const report = { configuration: holder.configuration, alg: holder.alg }
    summary.holders[holder.name] = report

    const offer = await client.resolveCredentialOffer(holder.offer)
    report.offer = {
      credential_issuer: offer.credential_issuer,
      credential_configuration_ids: offer.credential_configuration_ids,
      tx_code: offer.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']?.tx_code ?? null,
    }
    const metadata = await client.resolveIssuerMetadata(offer.credential_issuer)
    report.metadata_version = metadata.originalDraftVersion

    const redeem = (txCode) =>
      client.retrievePreAuthorizedCodeAccessTokenFromOffer({
        credentialOffer: offer,
        issuerMetadata: metadata,
        txCode,
      })
    if (holder.wrong_tx_code) {
      // Another code of the same length: one of the issuer's allowed wrong attempts.
      const wrong = holder.tx_code.replace(/.$/, (last) => (last === '0' ? '1' : '0'))
      report.wrong_tx_code = await expectOauthError(() => redeem(wrong))
    }
    const { accessTokenResponse } = await redeem(holder.tx_code)
    report.token = {
      token_type: accessTokenResponse.token_type,
      expires_in: accessTokenResponse.expires_in ?? null,
    }
    if (holder.reuse_code) {
      report.reused_code = await expectOauthError(() => redeem(holder.tx_code))
    }

    const { publicKey, privateKey } = await jose.generateKeyPair(holder.alg, { extractable: true })
    const publicJwk = await jose.exportJWK(publicKey)
    privateKeys.set(await jose.calculateJwkThumbprint(publicJwk), privateKey)

    const retrieve = (proof) =>
      client.retrieveCredentials({
        issuerMetadata: metadata,
        accessToken: accessTokenResponse.access_token,
        credentialConfigurationId: holder.configuration,
        proofs: { jwt: [proof] },
      })
    if (holder.replay_proof_of) {
      // A proof the issuer already accepted (its nonce is spent), sent with a new access token.
      report.replayed_proof = await expectCredentialError(() => retrieve(proofs[holder.replay_proof_of]))
    }
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata: metadata })
    const { jwt: proof } = await client.createCredentialRequestJwtProof({
      issuerMetadata: metadata,
      credentialConfigurationId: holder.configuration,
      nonce,
      signer: { method: 'jwk', alg: holder.alg, publicJwk },
    })
    proofs[holder.name] = proof
    report.proof_header = jose.decodeProtectedHeader(proof)
    delete report.proof_header.jwk
    const response = await retrieve(proof)
    const credentials = response.credentialResponse.credentials ?? []
    report.credentials_returned = credentials.length
    const credential = credentials[0]?.credential
    if (typeof credential !== 'string') throw new Error(`no SD-JWT VC in ${JSON.stringify(response.credentialResponse)}`)

    const header = jose.decodeProtectedHeader(credential.split('~')[0])
    report.credential_header = header
    report.issuer_key_found = issuerKeys.some((key) => key.kid === header.kid)
    const decoded = await SDJwt.fromEncode(credential, digest)
    report.disclosures = decoded.disclosures.length
    report.selectively_disclosable = (await decoded.presentableKeys(digest)).sort()
    report.plain = Object.keys(decoded.jwt.payload).filter((k) => !k.startsWith('_sd') && !REGISTERED.includes(k)).sort()

    const sdjwt = sdJwtInstance(issuerKeys, report, { alg: holder.alg, privateKey })
    const verified = await sdjwt.verify(credential)
    const payload = verified.payload
    report.claims = credentialClaims(payload)
    report.registered = Object.fromEntries(REGISTERED.filter((k) => k in payload).map((k) => [k, payload[k]]))
    report.cnf_is_holder_key =
      payload.cnf?.jwk !== undefined &&
      (await jose.calculateJwkThumbprint(payload.cnf.jwk)) === (await jose.calculateJwkThumbprint(publicJwk))
    report.status_before = payload.status?.status_list
      ? await statusOf(payload.status.status_list, report)
      : null

    // Present the chosen claims to a verifier, bound to the holder key.
    const aud = input.audience
    const kbNonce = randomBytes(16).toString('base64url')
    const presentation = await sdjwt.present(
      credential,
      Object.fromEntries(holder.disclose.map((name) => [name, true])),
      { kb: { payload: { aud, nonce: kbNonce, iat: Math.floor(Date.now() / 1000) } } },
    )
    const presented = await sdjwt.verify(presentation, {
      keyBindingNonce: kbNonce,
      requiredClaimKeys: holder.disclose,
    })
    report.presentation = {
      claims: credentialClaims(presented.payload),
      kb_header: presented.kb?.header ?? null,
      kb_aud: presented.kb?.payload?.aud ?? null,
      kb_nonce_matches: presented.kb?.payload?.nonce === kbNonce,
      // The library checks the nonce and sd_hash but not the audience; a verifier must.
      aud_matches: presented.kb?.payload?.aud === aud,
      wrong_nonce: await expectFailure(() => sdjwt.verify(presentation, { keyBindingNonce: `${kbNonce}-other` })),
    }

    state.holders[holder.name] = {
      configuration: holder.configuration,
      alg: holder.alg,
      credential,
      presentation,
      aud,
      nonce: kbNonce,
      disclose: holder.disclose,
      status: payload.status?.status_list ?? null,
    }
  }
  await writeFile(statePath, JSON.stringify(state, null, 2))
}

async function afterRevocation(statePath) {
  const state = JSON.parse(await readFile(statePath, 'utf8'))
  const issuerKeys = await fetchIssuerKeys(state.issuer)
  summary.holders = {}
  for (const [name, holder] of Object.entries(state.holders)) {
    const report = {}
    summary.holders[name] = report
    report.status_after = holder.status ? await statusOf(holder.status, report) : null
    // The same verification as at issuance, status list included.
    const sdjwt = sdJwtInstance(issuerKeys, report)
    try {
      await sdjwt.verify(holder.credential)
      report.verify = { ok: true }
    } catch (error) {
      report.verify = { ok: false, error: describe(error) }
    }
  }
}

/// The issuer's keys from its SD-JWT VC issuer metadata.
async function fetchIssuerKeys(issuer) {
  const response = await fetch(`${issuer}/.well-known/jwt-vc-issuer`)
  if (!response.ok) throw new Error(`GET /.well-known/jwt-vc-issuer: ${response.status} ${await response.text()}`)
  const metadata = await response.json()
  if (metadata.issuer !== issuer) throw new Error(`jwt-vc-issuer names issuer ${metadata.issuer}, expected ${issuer}`)
  return metadata.jwks?.keys ?? []
}

/// An SD-JWT VC verifier (and, given the holder key, presenter) as a relying party would set it up:
/// the issuer key is looked up by the `kid` of the JWT header, the status list is fetched from its
/// URI, and key-binding JWTs are checked against the credential's `cnf.jwk`.
function sdJwtInstance(issuerKeys, report, holder) {
  const issuerVerifier = async (data, signature) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'))
    const key = issuerKeys.find((k) => k.kid === header.kid)
    if (!key || header.alg !== 'ES256') return false
    return (await ES256.getVerifier(key))(data, signature)
  }
  return new SDJwtVcInstance({
    hasher: digest,
    verifier: issuerVerifier,
    statusVerifier: issuerVerifier,
    statusListFetcher: async (uri) => (await fetchStatusList(uri, report)).jwt,
    kbSignAlg: holder?.alg,
    kbSigner: holder
      ? async (data) => {
          const algorithm = holder.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }
          const signature = await webcrypto.subtle.sign(algorithm, holder.privateKey, new TextEncoder().encode(data))
          return Buffer.from(signature).toString('base64url')
        }
      : undefined,
    kbVerifier: verifyKeyBinding,
  })
}

/// Fetches a status list token, recording what the issuer served.
async function fetchStatusList(uri, report) {
  const response = await fetch(uri, { headers: { accept: 'application/statuslist+jwt' } })
  const jwt = await response.text()
  if (!response.ok) throw new Error(`GET ${uri}: ${response.status} ${jwt}`)
  const header = jose.decodeProtectedHeader(jwt)
  const payload = jose.decodeJwt(jwt)
  report.status_list = {
    content_type: response.headers.get('content-type'),
    typ: header.typ ?? null,
    kid: header.kid ?? null,
    sub_is_uri: payload.sub === uri,
    bits: payload.status_list?.bits ?? null,
    ttl: payload.ttl ?? null,
  }
  return { jwt, payload }
}

/// The status of a credential's entry, read with @sd-jwt/jwt-status-list.
async function statusOf(reference, report) {
  const { jwt } = await fetchStatusList(reference.uri, report)
  return getListFromStatusListJWT(jwt).getStatus(reference.idx)
}

/// The credential's own claims (without the registered and SD-JWT structural ones).
function credentialClaims(payload) {
  return Object.fromEntries(
    Object.entries(payload).filter(([name]) => !REGISTERED.includes(name) && !name.startsWith('_sd')),
  )
}

/// Runs a step that must fail with an OAuth error response; records the status and error code.
async function expectOauthError(step) {
  try {
    await step()
  } catch (error) {
    if (error instanceof Oauth2ClientErrorResponseError) {
      return {
        status: error.response?.status ?? null,
        error: error.errorResponse?.error ?? null,
        error_description: error.errorResponse?.error_description ?? null,
      }
    }
    throw error
  }
  return { status: 200, error: null, unexpected: 'the request succeeded' }
}

/// Runs a credential request that must fail; records the status and error code.
async function expectCredentialError(step) {
  try {
    await step()
  } catch (error) {
    if (error instanceof Openid4vciRetrieveCredentialsError) {
      const data = error.response?.credentialErrorResponseResult?.data
      return {
        status: error.response?.response?.status ?? null,
        error: data?.error ?? null,
        error_description: data?.error_description ?? null,
      }
    }
    throw error
  }
  return { status: 200, error: null, unexpected: 'the request succeeded' }
}

/// Runs a verification that must fail; records the message (or that it passed).
async function expectFailure(step) {
  try {
    await step()
  } catch (error) {
    return { rejected: true, error: describe(error) }
  }
  return { rejected: false }
}

function describe(error) {
  return error?.message ?? String(error)
}
