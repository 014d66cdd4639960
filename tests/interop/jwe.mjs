// The wallet's side of OpenID4VP `direct_post.jwt`, made with the npm `jose` package, for
// tests/interop.rs to check trustc's `jwe` module against.
//
// Reads one JSON request on stdin and writes one JSON answer on stdout:
// - {"op":"encrypt","jwk":<public JWK>,"enc":"A128GCM"|"A256GCM","plaintext":"…","nonce":"…"}
//   encrypts as @openid4vc/openid4vp 0.4.6 asks its `encryptJwe` callback to (and as Credo's
//   callback does it): `alg` ECDH-ES (or the JWK's `alg`), `kid` the JWK's, `apu` 32 random bytes
//   (the wallet's nonce), `apv` the request's nonce; answers {"jwe":"…","apu":"<base64url>"}.
// - {"op":"decrypt","jwk":<private JWK>,"jwe":"…"} decrypts a JWE trustc made; answers
//   {"plaintext":"…","header":{…}}.

import { randomBytes } from 'node:crypto'

import { CompactEncrypt, base64url, compactDecrypt, importJWK } from 'jose'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const request = await readStdin()

if (request.op === 'encrypt') {
  const { jwk, enc, plaintext, nonce } = request
  const alg = jwk.alg ?? 'ECDH-ES'
  // What @openid4vc/openid4vp hands the callback: base64url strings.
  const apu = base64url.encode(randomBytes(32))
  const apv = base64url.encode(nonce)
  const key = await importJWK(jwk, alg)
  const jwe = await new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader({ alg, enc, kid: jwk.kid })
    .setKeyManagementParameters({ apu: base64url.decode(apu), apv: base64url.decode(apv) })
    .encrypt(key)
  process.stdout.write(JSON.stringify({ jwe, apu }))
} else if (request.op === 'decrypt') {
  const key = await importJWK(request.jwk, 'ECDH-ES')
  const { plaintext, protectedHeader } = await compactDecrypt(request.jwe, key, {
    keyManagementAlgorithms: ['ECDH-ES'],
    contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'],
  })
  process.stdout.write(
    JSON.stringify({ plaintext: new TextDecoder().decode(plaintext), header: protectedHeader }),
  )
} else {
  throw new Error(`unknown op ${request.op}`)
}
