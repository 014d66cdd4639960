// A headless "browser" for the login tests: `fetch` with `redirect: 'manual'` in a loop, one
// cookie jar per host (cookies ignore the port, as browsers do), which stops at the first address
// that starts with the wallet's redirect URI (nothing listens there) and, against the development
// provider's forms (op.mjs in dev mode), logs the account in and consents. Used by login.mjs.

/// How many redirects one navigation may take before it is a loop.
const MAX_HOPS = 25

export class Browser {
  constructor() {
    /// host -> Map(name -> value)
    this.jars = new Map()
    /// Every hop, for the summary: method, URL (without query values), status.
    this.hops = []
  }

  /// Sends one request with the jar's cookies and keeps the cookies it sets.
  async request(url, { method = 'GET', form, headers = {} } = {}) {
    const target = new URL(url)
    const cookie = [...this.jar(target.hostname)].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(target, {
      method,
      redirect: 'manual',
      headers: {
        accept: 'text/html,application/json;q=0.9',
        ...(cookie ? { cookie } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    })
    for (const line of response.headers.getSetCookie()) this.keep(target.hostname, line)
    this.hops.push({ method, url: redacted(target), status: response.status })
    return response
  }

  /// Follows redirects from `url` until an address starting with `stopAt` (returned, not
  /// fetched) or a page that is no redirect (returned with its status and text). `login` names
  /// the account to type into the development provider's login form when it shows one.
  async navigate(url, { stopAt, login, method = 'GET', form } = {}) {
    let next = { url, method, form }
    for (let hop = 0; hop < MAX_HOPS; hop += 1) {
      if (stopAt && next.url.startsWith(stopAt)) return { stopped: next.url, hops: this.hops }
      const response = await this.request(next.url, next)
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location) {
        next = { url: new URL(location, next.url).href, method: 'GET' }
        continue
      }
      const text = await response.text()
      const interaction = devInteraction(next.url, text)
      if (response.status === 200 && interaction) {
        next = { url: interaction.action, method: 'POST', form: interaction.form(login) }
        continue
      }
      return { status: response.status, url: next.url, text, contentType: response.headers.get('content-type'), hops: this.hops }
    }
    throw new Error(`more than ${MAX_HOPS} redirects from ${url}`)
  }

  jar(host) {
    if (!this.jars.has(host)) this.jars.set(host, new Map())
    return this.jars.get(host)
  }

  keep(host, setCookie) {
    const [pair, ...attributes] = setCookie.split(';')
    const at = pair.indexOf('=')
    const name = pair.slice(0, at).trim()
    const value = pair.slice(at + 1).trim()
    const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a) || /^\s*expires\s*=.*1970/i.test(a))
    if (expired || value === '') this.jar(host).delete(name)
    else this.jar(host).set(name, value)
  }
}

/// The development provider's login or consent form on a page, if it is one: where it posts and
/// the fields to send.
function devInteraction(pageUrl, html) {
  if (!/\/interaction\/[\w-]+$/.test(new URL(pageUrl).pathname)) return null
  const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1]
  if (!action) return null
  const prompt = html.match(/name="prompt" value="(\w+)"/)?.[1]
  return {
    action: new URL(action.replaceAll('&amp;', '&'), pageUrl).href,
    form: (login) => {
      if (prompt === 'login') {
        if (!login) throw new Error('the provider shows its login form, and no account was given')
        return { prompt, login, password: 'any' }
      }
      if (prompt === 'consent') return { prompt }
      throw new Error(`unknown interaction prompt ${prompt} at ${pageUrl}`)
    },
  }
}

/// A URL with its query values hidden (codes and tokens stay out of the summary).
function redacted(url) {
  const copy = new URL(url)
  for (const key of [...copy.searchParams.keys()]) copy.searchParams.set(key, '…')
  return copy.href.replaceAll('%E2%80%A6', '…')
}
