// How the npm wallets (presentation.mjs, login.mjs) run a flow step by step and report it: a
// step the server refuses ends the run as a `Refusal` (exit 0, the Rust test judges it), a step
// it must refuse but accepts as `Accepted`, anything else is the wallet's own failure (exit 1).

import { randomBytes } from 'node:crypto'

import { Openid4vciRetrieveCredentialsError } from '@openid4vc/openid4vci'
import { Oauth2ClientErrorResponseError } from '@openid4vc/oauth2'

/// A step the server refused: where, and with what. Ends the run with exit status 0.
/// Runs one command of a wallet script and ends the process: prints `summary` as JSON (with
/// `refused`, `accepted` or `failure` when the run ended so) and exits 0, or 1 for a failure of
/// the wallet itself.
export async function runCommand(summary, run) {
  let code = 0
  try {
    await run()
  } catch (error) {
    if (error instanceof Refusal) {
      summary.refused = { step: error.step, ...error.record }
    } else if (error instanceof Accepted) {
      summary.accepted = { step: error.step, ...error.record }
    } else {
      console.error(`the holder failed${error?.step ? ` at ${error.step}` : ''}: ${describe(error)}`)
      if (error?.stack) console.error(error.stack)
      summary.failure = { step: error?.step ?? null, error: describe(error) }
      code = 1
    }
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  process.exit(code)
}

/// Prints how a script is called and exits 2.
export function usage(...lines) {
  console.error(lines.map((line, i) => `${i === 0 ? 'usage: ' : '       '}${line}`).join('\n'))
  process.exit(2)
}

/// A step the server refused: where, and with what. Ends the run with exit status 0.
export class Refusal extends Error {
  constructor(step, record) {
    super(`the server refused at ${step}: ${JSON.stringify(record)}`)
    this.step = step
    this.record = record
  }
}

/// The server accepted a step it must refuse. Ends the run with exit status 0.
export class Accepted extends Error {
  constructor(step, record) {
    super(`the server accepted ${step}`)
    this.step = step
    this.record = record
  }
}


/// Runs one step of the flow. A refusal by the server (an error response) ends the run as a
/// `Refusal`; any other error is the wallet's own failure, tagged with the step.
export async function step(name, action) {
  try {
    return await action()
  } catch (error) {
    if (error instanceof Refusal || error instanceof Accepted) throw error
    const refusal = serverRefusal(error)
    if (refusal) throw new Refusal(name, refusal)
    throw located(name, error)
  }
}

/// Runs a step the server must refuse: a `Refusal` when it does, `Accepted` when it does not.
export async function mustRefuse(name, action) {
  const result = await step(name, action)
  throw new Accepted(name, { result: redact(result) })
}

/// Runs a step whose outcome is recorded either way (it must not throw for a refusal).
export async function outcome(action) {
  try {
    return { accepted: true, result: redact(await action()) }
  } catch (error) {
    const refusal = serverRefusal(error)
    if (refusal) return { accepted: false, ...refusal }
    return { accepted: false, wallet_error: describe(error) }
  }
}

/// Sends a request whose raw `Response` the library returns without judging it (the OpenID4VP
/// response): status and JSON body. A connection the server cut is a refusal too.
export async function httpAnswer(name, send) {
  let response
  try {
    response = await send()
  } catch (error) {
    const refusal = serverRefusal(error)
    if (refusal) throw new Refusal(name, refusal)
    if (error?.cause?.code || error?.name === 'TypeError') {
      throw new Refusal(name, { status: null, network_error: `${describe(error)} (${error?.cause?.code ?? ''})` })
    }
    throw located(name, error)
  }
  const text = await response.text()
  return {
    ok: response.ok,
    status: response.status,
    content_type: response.headers.get('content-type'),
    body: parseJson(text),
  }
}

/// The server's error response carried by a library error, or null when the error is not one.
export function serverRefusal(error) {
  if (error instanceof Openid4vciRetrieveCredentialsError) {
    const data = error.response?.credentialErrorResponseResult?.data
    return {
      status: error.response?.response?.status ?? null,
      error: data?.error ?? null,
      error_description: data?.error_description ?? null,
    }
  }
  if (error instanceof Oauth2ClientErrorResponseError) {
    return {
      status: error.response?.status ?? null,
      error: error.errorResponse?.error ?? null,
      error_description: error.errorResponse?.error_description ?? null,
    }
  }
  // InvalidFetchResponseError (@openid4vc/utils): an error status with a body that is no OAuth
  // error response.
  if (typeof error?.response?.status === 'number' && 'textResponse' in error) {
    const body = parseJson(error.textResponse)
    return {
      status: error.response.status,
      error: body?.error ?? null,
      error_description: body?.error_description ?? body?.detail ?? null,
      body,
    }
  }
  return null
}

/// A library result without the secrets in it (codes and tokens are reported as present).
export function redact(value) {
  if (value === null || typeof value !== 'object') return value
  return JSON.parse(
    JSON.stringify(value, (key, v) =>
      ['authorization_code', 'access_token', 'refresh_token'].includes(key) && typeof v === 'string' ? '<present>' : v,
    ),
  )
}

export function pick(object, keys) {
  return Object.fromEntries(keys.map((key) => [key, object?.[key] ?? null]))
}

export function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
  }
}

export function located(name, error) {
  if (error && typeof error === 'object' && !error.step) error.step = name
  return error
}

export function randomToken(bytes) {
  return randomBytes(bytes).toString('base64url')
}

export function now() {
  return Math.floor(Date.now() / 1000)
}

export function describe(error) {
  return error?.message ?? String(error)
}
