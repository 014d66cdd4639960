// Batch issuance and a lost response, with @openid4vc/openid4vci against a live `trustc serve`:
// the wallet library sends several key proofs (one per fresh key, one shared nonce) in one
// credential request, then loses the answer of a second request (its connection is dropped once
// the issuer has answered, before the wallet reads the body) and asks again with a fresh nonce
// and the same access token. Every credential is checked with @sd-jwt/sd-jwt-vc (issuer key by
// `kid`, status list) and presented with a key-binding JWT, and STATE.json is written in the shape
// `issuance.mjs` writes, so `verify_sdjwt.py` checks the same credentials independently.
//
// Usage:
//   node batch.mjs INPUT.json STATE.json
//     INPUT.json (written by tests/interop_batch.rs):
//       { "issuer", "audience", "offer", "tx_code", "configuration", "algs": ["ES256", "EdDSA", …],
//         "disclose": [...] }
//
// Prints one JSON summary on stdout and exits 0; the Rust test decides what is right. Unexpected
// failures print the summary so far on stdout and the error on stderr, and exit 1.

import { readFile, writeFile } from 'node:fs/promises'
import { randomBytes, webcrypto } from 'node:crypto'

import { Openid4vciClient, Openid4vciRetrieveCredentialsError, setGlobalConfig } from '@openid4vc/openid4vci'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { ES256, digest } from '@sd-jwt/crypto-nodejs'
import * as jose from 'jose'

import { nodeCallbacks, verifyKeyBinding } from './callbacks.mjs'

setGlobalConfig({ allowInsecureUrls: true })

const summary = {}
let code = 0
try {
  const [inputPath, statePath] = process.argv.slice(2)
  if (!inputPath || !statePath) {
    console.error('usage: node batch.mjs INPUT.json STATE.json')
    process.exit(2)
  }
  await run(inputPath, statePath)
} catch (error) {
  console.error(`the holder failed: ${error?.message ?? error}`)
  if (error?.stack) console.error(error.stack)
  summary.failure = error?.message ?? String(error)
  code = 1
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
process.exit(code)

async function run(inputPath, statePath) {
  const input = JSON.parse(await readFile(inputPath, 'utf8'))
  const issuerKeys = (await (await fetch(`${input.issuer}/.well-known/jwt-vc-issuer`)).json()).jwks.keys
  const privateKeys = new Map()
  const signJwt = async (signer, { header, payload }) => {
    const key = privateKeys.get(await jose.calculateJwkThumbprint(signer.publicJwk))
    if (!key) throw new Error('signJwt: no private key for the requested public JWK')
    return { jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(key), signerJwk: signer.publicJwk }
  }
  const client = new Openid4vciClient({ callbacks: { ...nodeCallbacks(), signJwt } })
  // The same library, on a connection that drops the credential endpoint's answer: the issuer
  // answers, the wallet never reads it.
  const lossy = new Openid4vciClient({
    callbacks: {
      ...nodeCallbacks(),
      signJwt,
      fetch: async (url, init) => {
        if (!String(url).endsWith('/credential')) return fetch(url, init)
        const controller = new AbortController()
        const response = await fetch(url, { ...init, signal: controller.signal })
        summary.lost = { status: response.status }
        controller.abort()
        throw new Error('the connection dropped before the answer was read')
      },
    },
  })

  const offer = await client.resolveCredentialOffer(input.offer)
  const metadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  summary.batch_size = metadata.credentialIssuer.batch_credential_issuance?.batch_size ?? null
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata: metadata,
    txCode: input.tx_code,
  })
  const newKey = async (alg) => {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true })
    const publicJwk = await jose.exportJWK(publicKey)
    privateKeys.set(await jose.calculateJwkThumbprint(publicJwk), privateKey)
    return { alg, publicJwk, privateKey }
  }
  const proofFor = async (key, nonce) =>
    (
      await client.createCredentialRequestJwtProof({
        issuerMetadata: metadata,
        credentialConfigurationId: input.configuration,
        nonce,
        signer: { method: 'jwk', alg: key.alg, publicJwk: key.publicJwk },
      })
    ).jwt
  const retrieve = (wallet, proofs) =>
    wallet.retrieveCredentials({
      issuerMetadata: metadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: input.configuration,
      proofs: { jwt: proofs },
    })
  const nonce = async () => (await client.requestNonce({ issuerMetadata: metadata })).c_nonce

  const received = [] // [name, key, credential]
  // 1. Several proofs in one request: one credential per key, in order.
  const keys = []
  for (const alg of input.algs) keys.push(await newKey(alg))
  const shared = await nonce()
  const batchProofs = await Promise.all(keys.map((key) => proofFor(key, shared)))
  const batch = await retrieve(client, batchProofs)
  const credentials = batch.credentialResponse.credentials ?? []
  summary.batch_returned = credentials.length
  credentials.forEach((c, n) => received.push([`batch_${n + 1}`, keys[n], c.credential]))

  // 2. A request whose answer is lost, then the same token again with a fresh nonce.
  const key = await newKey('ES256')
  const lostProof = await proofFor(key, await nonce())
  try {
    await retrieve(lossy, [lostProof])
    summary.lost = { ...summary.lost, read: true }
  } catch (error) {
    summary.lost = { ...summary.lost, read: false, error: error?.message ?? String(error) }
  }
  summary.resent = await expectCredentialError(() => retrieve(client, [lostProof]))
  const retry = await retrieve(client, [await proofFor(key, await nonce())])
  summary.retry_returned = retry.credentialResponse.credentials?.length ?? 0
  received.push(['retry', key, retry.credentialResponse.credentials[0].credential])

  // 3. Each credential: verified, bound to its own key, its own status entry, presented.
  const state = { issuer: input.issuer, issuer_keys: issuerKeys, holders: {} }
  summary.holders = {}
  for (const [name, holderKey, credential] of received) {
    const report = {}
    summary.holders[name] = report
    const sdjwt = sdJwtInstance(issuerKeys, holderKey)
    const { payload } = await sdjwt.verify(credential)
    report.cnf_is_holder_key =
      (await jose.calculateJwkThumbprint(payload.cnf.jwk)) === (await jose.calculateJwkThumbprint(holderKey.publicJwk))
    report.status = payload.status?.status_list ?? null
    const kbNonce = randomBytes(16).toString('base64url')
    const presentation = await sdjwt.present(
      credential,
      Object.fromEntries(input.disclose.map((claim) => [claim, true])),
      { kb: { payload: { aud: input.audience, nonce: kbNonce, iat: Math.floor(Date.now() / 1000) } } },
    )
    const presented = await sdjwt.verify(presentation, { keyBindingNonce: kbNonce, requiredClaimKeys: input.disclose })
    report.presented = Object.keys(presented.payload).filter((k) => input.disclose.includes(k)).sort()
    state.holders[name] = {
      configuration: input.configuration,
      alg: holderKey.alg,
      credential,
      presentation,
      aud: input.audience,
      nonce: kbNonce,
      disclose: input.disclose,
      status: report.status,
    }
  }
  await writeFile(statePath, JSON.stringify(state, null, 2))
}

/// An SD-JWT VC verifier and presenter: the issuer key by the header's `kid`, the status list
/// fetched from its URI, key-binding JWTs signed by (and checked against) the holder key.
function sdJwtInstance(issuerKeys, holder) {
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
    statusListFetcher: async (uri) => (await fetch(uri)).text(),
    kbSignAlg: holder.alg,
    kbSigner: async (data) => {
      const algorithm = holder.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }
      const signature = await webcrypto.subtle.sign(algorithm, holder.privateKey, new TextEncoder().encode(data))
      return Buffer.from(signature).toString('base64url')
    },
    kbVerifier: verifyKeyBinding,
  })
}

/// Runs a credential request that must fail; records the status and error code.
async function expectCredentialError(step) {
  try {
    await step()
  } catch (error) {
    if (error instanceof Openid4vciRetrieveCredentialsError) {
      const data = error.response?.credentialErrorResponseResult?.data
      return { status: error.response?.response?.status ?? null, error: data?.error ?? null }
    }
    throw error
  }
  return { status: 200, error: null, unexpected: 'the request succeeded' }
}
