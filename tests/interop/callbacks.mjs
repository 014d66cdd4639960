// The callbacks both scripts give @openid4vc/openid4vci's client besides their own `signJwt`:
// fetch, hashing and randomness from Node.js, and anonymous client authentication (the
// pre-authorized code flow authenticates no client). Used by metadata.mjs and issuance.mjs.

import { createHash, randomBytes } from 'node:crypto'

import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'

export function nodeCallbacks() {
  return {
    fetch,
    hash: (data, algorithm) =>
      new Uint8Array(createHash(algorithm.replace('-', '').toLowerCase()).update(data).digest()),
    generateRandom: (length) => new Uint8Array(randomBytes(length)),
    clientAuthentication: clientAuthenticationAnonymous(),
  }
}
