// The callbacks both scripts give @openid4vc/openid4vci's client besides their own `signJwt`:
// fetch, hashing and randomness from Node.js, and anonymous client authentication (the
// pre-authorized code flow authenticates no client). Used by metadata.mjs, issuance.mjs and
// presentation.mjs; and the key-binding check both SD-JWT verifiers use.

import { createHash, randomBytes } from 'node:crypto'

import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import * as jose from 'jose'

/// `@sd-jwt`'s `kbVerifier`: the key-binding JWT's signature, by the key in the credential's
/// `cnf.jwk`, with the algorithm its header names (never `none`).
export async function verifyKeyBinding(data, signature, payload) {
  const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'))
  if (!payload?.cnf?.jwk || header.alg === 'none') return false
  try {
    const key = await jose.importJWK(payload.cnf.jwk, header.alg)
    await jose.compactVerify(`${data}.${signature}`, key, { algorithms: [header.alg] })
    return true
  } catch {
    return false
  }
}

export function nodeCallbacks() {
  return {
    fetch,
    hash: (data, algorithm) =>
      new Uint8Array(createHash(algorithm.replace('-', '').toLowerCase()).update(data).digest()),
    generateRandom: (length) => new Uint8Array(randomBytes(length)),
    clientAuthentication: clientAuthenticationAnonymous(),
  }
}
