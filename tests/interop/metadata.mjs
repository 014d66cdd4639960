// Serves a `trustc build` output folder over HTTP on 127.0.0.1 and resolves its credential issuer
// metadata with a real OpenID4VCI client library (@openid4vc/openid4vci, the engine of Credo),
// so the test proves a wallet stack parses what trustc generates, not only that it is JSON.
//
// Usage: node metadata.mjs OUTPUT_DIR ISSUER_URL
//   Listens on file descriptor 3 when LISTEN_FD=3 is set (a socket the caller bound, so the port
//   the metadata names is known before the build), else on the port of ISSUER_URL.
//   Prints one JSON summary of what the library parsed on stdout and exits 0; when the library
//   refuses the metadata, prints its error (with the validation issues) on stderr and exits 1.
// Run by tests/interop.rs, which checks the summary against the compiled issuer configuration.

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { resolve, sep } from 'node:path'

import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'

import { nodeCallbacks } from './callbacks.mjs'

const [outputDir, issuer] = process.argv.slice(2)
if (!outputDir || !issuer) {
  console.error('usage: node metadata.mjs OUTPUT_DIR ISSUER_URL')
  process.exit(2)
}
const root = resolve(outputDir)
const wellKnownIssuer = '/.well-known/openid-credential-issuer'

const requests = []
const server = createServer(async (request, response) => {
  const path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname)
  requests.push(path)
  const file = resolve(root, `.${path}`)
  const json = path.startsWith('/.well-known/') || path.endsWith('.json')
  const send = (status, body, type) => {
    response.writeHead(status, { 'content-type': type })
    response.end(body)
  }
  if (file !== root && !file.startsWith(root + sep)) return send(404, 'not found', 'text/plain')
  try {
    const body = await readFile(file)
    send(200, body, json ? 'application/json' : 'application/octet-stream')
  } catch {
    send(404, 'not found', 'text/plain')
  }
})

const fd = process.env.LISTEN_FD
await new Promise((ready, fail) => {
  server.once('error', fail)
  if (fd) server.listen({ fd: Number(fd) }, ready)
  else server.listen(Number(new URL(issuer).port), '127.0.0.1', ready)
})

// The issuer is http on loopback in the test; the library otherwise insists on https.
setGlobalConfig({ allowInsecureUrls: true })
const client = new Openid4vciClient({
  callbacks: {
    ...nodeCallbacks(),
    signJwt: () => {
      throw new Error('metadata resolution signs nothing')
    },
  },
})

let code = 0
try {
  const metadata = await client.resolveIssuerMetadata(issuer)
  const issuerMetadata = metadata.credentialIssuer
  const configurations = {}
  // `knownCredentialConfigurations` holds the configurations that passed the library's
  // format-specific validation (the others are dropped silently, so the test compares the lists).
  for (const [id, configuration] of Object.entries(metadata.knownCredentialConfigurations)) {
    // 1.0 nests display and claims in `credential_metadata`; drafts 13 to 15 keep them at the top,
    // draft 13 and 14 with claims as a map of names.
    const details = configuration.credential_metadata ?? configuration
    const claims = Array.isArray(details.claims)
      ? details.claims
      : Object.entries(details.claims ?? {}).map(([name, claim]) => ({ path: [name], ...claim }))
    configurations[id] = {
      format: configuration.format,
      vct: configuration.vct,
      scope: configuration.scope,
      display: (details.display ?? []).map((display) => ({
        locale: display.locale,
        name: display.name,
        logo_uri: display.logo?.uri ?? null,
        background_color: display.background_color ?? null,
        text_color: display.text_color ?? null,
      })),
      claims: claims.map((claim) => ({
        path: claim.path,
        mandatory: claim.mandatory ?? null,
        display: (claim.display ?? []).map(({ locale, name }) => ({ locale, name })),
      })),
      claims_shape: Array.isArray(details.claims) ? 'array' : 'map',
      in_credential_metadata: configuration.credential_metadata !== undefined,
      order: configuration.order ?? null,
    }
  }
  const summary = {
    version: metadata.originalDraftVersion,
    credential_issuer: issuerMetadata.credential_issuer,
    credential_endpoint: issuerMetadata.credential_endpoint,
    nonce_endpoint: issuerMetadata.nonce_endpoint ?? null,
    authorization_servers: metadata.authorizationServers.map((server) => server.issuer),
    token_endpoints: metadata.authorizationServers.map((server) => server.token_endpoint),
    configuration_ids: Object.keys(issuerMetadata.credential_configurations_supported),
    configurations,
    requests,
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
} catch (error) {
  // The library's ValidationError carries the zod issues: print them in full.
  console.error(`the OpenID4VCI client refused the metadata of ${issuer}: ${error?.message ?? error}`)
  if (error?.zodError) console.error(JSON.stringify(error.zodError.issues, null, 2))
  if (error?.cause) console.error('cause:', error.cause)
  console.error('requests served:', requests.join(', '))
  code = 1
} finally {
  server.close()
}
process.exit(code)
