// The holder side the npm wallets share (presentation.mjs, login.mjs): holder keys, receiving a
// credential with @openid4vc/openid4vci once there is an access token (nonce, key proof,
// credential request), and checking it as a relying party would with @sd-jwt/sd-jwt-vc (the
// issuer key its `iss` names, disclosures, status list entry, a presentation with key binding).

import { execFile } from 'node:child_process'
import { webcrypto } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { SDJwt } from '@sd-jwt/core'
import { digest } from '@sd-jwt/crypto-nodejs'
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import * as jose from 'jose'

import { verifyKeyBinding } from './callbacks.mjs'
import { located, now, randomToken, step } from './steps.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/// The audience of the presentation the Python reference verifies after issuance (not trustc).
export const LOCAL_VERIFIER = 'https://verifier.example/interop'
/// Claims the SD-JWT VC specification registers; everything else is a credential claim.
export const REGISTERED = ['iss', 'sub', 'vct', 'vct#integrity', 'iat', 'nbf', 'exp', 'cnf', 'status']

/// Gets a nonce, proves possession of the holder key and receives one SD-JWT VC (with a DPoP
/// proof when the access token is DPoP-bound: `dpop` as the token request returned it).
export async function receiveCredential(client, metadata, accessTokenResponse, configuration, holder, dpop) {
  const { c_nonce: nonce } = await step('nonce', () => client.requestNonce({ issuerMetadata: metadata }))
  const { jwt: proof } = await step('proof', () =>
    client.createCredentialRequestJwtProof({
      issuerMetadata: metadata,
      credentialConfigurationId: configuration,
      nonce,
      signer: { method: 'jwk', alg: holder.alg, publicJwk: holder.publicJwk },
    }),
  )
  const response = await step('credential', () =>
    client.retrieveCredentials({
      issuerMetadata: metadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configuration,
      proofs: { jwt: [proof] },
      dpop,
    }),
  )
  const credential = response.credentialResponse.credentials?.[0]?.credential
  if (typeof credential !== 'string') {
    throw located('credential', new Error(`no SD-JWT VC in ${JSON.stringify(response.credentialResponse)}`))
  }
  return credential
}

/// Verifies an SD-JWT VC with the key its issuer publishes (did:web document or JWT VC issuer
/// metadata) and its status list entry; what was checked.
export async function checkCredential(credential, resolve, holder) {
  const header = jose.decodeProtectedHeader(credential.split('~')[0])
  const unverified = jose.decodeJwt(credential.split('~')[0])
  const keys = await step('issuer-keys', () => issuerKeysOf(unverified.iss, resolve))
  const key = findKey(keys, header.kid)
  const report = {
    header,
    issuer_keys: {
      source: keys.source,
      document_id: keys.document_id ?? null,
      kid_found: key !== undefined,
      in_assertion_method: key?.in_assertion_method ?? false,
    },
  }
  const sdjwt = sdJwtInstance({ holder, issuerKeys: keys, report })
  const verified = await step('verify-credential', () => sdjwt.verify(credential))
  const payload = verified.payload
  const decoded = await SDJwt.fromEncode(credential, digest)
  report.claims = credentialClaims(payload)
  report.registered = Object.fromEntries(REGISTERED.filter((k) => k in payload).map((k) => [k, payload[k]]))
  report.selectively_disclosable = (await decoded.presentableKeys(digest)).sort()
  report.cnf_is_holder_key =
    payload.cnf?.jwk !== undefined &&
    (await jose.calculateJwkThumbprint(payload.cnf.jwk)) === (await jose.calculateJwkThumbprint(holder.publicJwk))
  report.status = payload.status?.status_list
    ? getListFromStatusListJWT((await fetchStatusList(payload.status.status_list.uri, report)).jwt).getStatus(
        payload.status.status_list.idx,
      )
    : null

  // A presentation of the selectively disclosable claims to a verifier other than trustc, for
  // the Python reference implementation to verify (key binding included).
  const kbNonce = randomToken(16)
  const frame = Object.fromEntries(report.selectively_disclosable.map((name) => [name, true]))
  const presentation = await sdjwt.present(credential, frame, {
    kb: { payload: { aud: LOCAL_VERIFIER, nonce: kbNonce, iat: now() } },
  })
  await step('verify-presentation', () => sdjwt.verify(presentation, { keyBindingNonce: kbNonce }))
  report.presentation = { presentation, aud: LOCAL_VERIFIER, nonce: kbNonce }
  return report
}

/// The keys of an SD-JWT VC issuer: from its did:web document (the host mapped by `resolve` to a
/// loopback base URL, as `trustc serve --resolve` does) or its /.well-known/jwt-vc-issuer.
export async function issuerKeysOf(iss, resolve) {
  if (typeof iss !== 'string') throw new Error('the credential has no iss')
  if (iss.startsWith('did:web:')) {
    const [host, ...path] = iss.slice('did:web:'.length).split(':').map(decodeURIComponent)
    const base = resolve[host] ?? `https://${host}`
    const url = `${base}${path.length > 0 ? `/${path.join('/')}` : '/.well-known'}/did.json`
    const response = await fetch(url, { headers: { accept: 'application/did+json, application/json' } })
    const text = await response.text()
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text}`)
    const document = JSON.parse(text)
    if (document.id !== iss) throw new Error(`the DID document at ${url} is ${document.id}, not ${iss}`)
    const absolute = (id) => (id.startsWith('#') ? `${iss}${id}` : id)
    const assertion = (document.assertionMethod ?? []).map((m) => absolute(typeof m === 'string' ? m : m.id))
    const methods = [
      ...(document.verificationMethod ?? []),
      ...(document.assertionMethod ?? []).filter((m) => typeof m === 'object'),
    ]
    return {
      source: 'did:web',
      document_id: document.id,
      url,
      keys: methods
        .filter((m) => m.publicKeyJwk)
        .map((m) => ({
          kid: absolute(m.id),
          jwk: m.publicKeyJwk,
          in_assertion_method: assertion.includes(absolute(m.id)),
        })),
    }
  }
  const url = `${iss}/.well-known/jwt-vc-issuer`
  const response = await fetch(url)
  const text = await response.text()
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text}`)
  const metadata = JSON.parse(text)
  if (metadata.issuer !== iss) throw new Error(`jwt-vc-issuer names issuer ${metadata.issuer}, expected ${iss}`)
  return {
    source: 'jwt-vc-issuer',
    url,
    keys: (metadata.jwks?.keys ?? []).map((jwk) => ({ kid: jwk.kid, jwk, in_assertion_method: true })),
  }
}

/// The issuer key a JWT header's `kid` names: the full DID URL, its fragment, or a plain kid.
export function findKey(issuerKeys, kid) {
  if (typeof kid !== 'string') return undefined
  return issuerKeys.keys.find(
    (key) => key.kid === kid || key.kid.endsWith(`#${kid.replace(/^#/, '')}`) || key.jwk.kid === kid,
  )
}

/// An SD-JWT VC verifier and (given the holder) presenter: issuer signatures with `issuerKeys` by
/// the header's `kid`, status lists fetched from their URI, key-binding JWTs against `cnf.jwk`.
export function sdJwtInstance({ holder, issuerKeys, report = {} }) {
  const issuerVerifier = async (data, signature) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'))
    const key = issuerKeys && findKey(issuerKeys, header.kid)
    if (!key || header.alg === 'none') return false
    try {
      await jose.compactVerify(`${data}.${signature}`, await jose.importJWK(key.jwk, header.alg), {
        algorithms: [header.alg],
      })
      return true
    } catch {
      return false
    }
  }
  return new SDJwtVcInstance({
    hasher: digest,
    verifier: issuerVerifier,
    statusVerifier: issuerVerifier,
    statusListFetcher: async (uri) => (await fetchStatusList(uri, report)).jwt,
    kbSignAlg: holder?.alg,
    kbSigner: holder ? async (data) => signDetached(holder, data) : undefined,
    kbVerifier: verifyKeyBinding,
  })
}

/// Fetches a status list token, recording what the issuer served.
export async function fetchStatusList(uri, report) {
  const response = await fetch(uri, { headers: { accept: 'application/statuslist+jwt' } })
  const jwt = await response.text()
  if (!response.ok) throw new Error(`GET ${uri}: ${response.status} ${jwt}`)
  report.status_list = {
    content_type: response.headers.get('content-type'),
    typ: jose.decodeProtectedHeader(jwt).typ ?? null,
    kid: jose.decodeProtectedHeader(jwt).kid ?? null,
  }
  return { jwt }
}

// ---------------------------------------------------------------------------------------------
// The wallet's keys

/// A fresh holder key pair of `alg` (ES256 or EdDSA).
export async function newHolder(alg) {
  if (!['ES256', 'EdDSA'].includes(alg)) throw new Error(`holder keys are ES256 or EdDSA, not ${alg}`)
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true })
  const privateJwk = { ...(await jose.exportJWK(privateKey)), alg }
  return holderFromPrivateJwk(privateJwk, alg, publicKey)
}

/// The holder key from its private JWK (what `person` printed).
export async function holderFromPrivateJwk(privateJwk, alg) {
  if (!privateJwk?.d) throw new Error('holder_jwk_private is not a private JWK')
  const privateKey = await jose.importJWK(privateJwk, alg)
  const publicJwk = Object.fromEntries(
    ['kty', 'crv', 'x', 'y'].filter((k) => k in privateJwk).map((k) => [k, privateJwk[k]]),
  )
  return { alg, privateKey, privateJwk, publicJwk, thumbprint: await jose.calculateJwkThumbprint(publicJwk) }
}

/// `signJwt` for the libraries: only with the wallet's own keys (the holder key for key proofs,
/// and a DPoP key when the wallet has one).
export function holderSignJwt(...keys) {
  return async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error(`the holder signs with jwk keys, not ${signer.method}`)
    const thumbprint = await jose.calculateJwkThumbprint(signer.publicJwk)
    const key = keys.find((candidate) => candidate.thumbprint === thumbprint)
    if (!key) throw new Error('signJwt: asked to sign with a key that is not the wallet\'s')
    const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(key.privateKey)
    return { jwt, signerJwk: signer.publicJwk }
  }
}

/// Runs `presentation.mjs COMMAND` (the OpenID4VP holder: `answer` a request, `redeem` a
/// pre-authorised offer) on `input`, its input file in `work`; its summary, which must report no
/// refusal or failure.
export async function presentationHolder(command, input, work) {
  const path = join(work, `${command}-${randomToken(6)}-input.json`)
  await writeFile(path, JSON.stringify(input, null, 2))
  let stdout
  try {
    ;({ stdout } = await promisify(execFile)('node', [join(here, 'presentation.mjs'), command, path], {
      cwd: here,
      maxBuffer: 16 * 1024 * 1024,
    }))
  } catch (error) {
    throw new Error(`presentation.mjs ${command} failed: ${error.stderr ?? ''}\n${error.stdout ?? ''}`)
  }
  const result = JSON.parse(stdout)
  if (result.refused || result.failure) {
    throw new Error(`presentation.mjs ${command} did not get through: ${JSON.stringify(result, null, 2)}`)
  }
  return result
}

/// A JWS signature (base64url) over `data` with a WebCrypto private key.
export async function signDetached({ alg, privateKey }, data) {
  const algorithm = alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }
  const signature = await webcrypto.subtle.sign(algorithm, privateKey, new TextEncoder().encode(data))
  return Buffer.from(signature).toString('base64url')
}

export function describeOffer(offer) {
  return {
    credential_issuer: offer.credential_issuer,
    credential_configuration_ids: offer.credential_configuration_ids,
    grants: Object.keys(offer.grants ?? {}).sort(),
    issuer_state: typeof offer.grants?.authorization_code?.issuer_state === 'string',
    tx_code: offer.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']?.tx_code ?? null,
  }
}

/// The credential's own claims (without the registered and SD-JWT structural ones).
export function credentialClaims(payload) {
  return Object.fromEntries(
    Object.entries(payload).filter(([name]) => !REGISTERED.includes(name) && !name.startsWith('_sd')),
  )
}
