// The login web journey in a real browser, for wallets that take only pre-authorised offers (BC
// Wallet): Debian's Chromium, driven by playwright-core, opens trustc's "Get your credential" page,
// signs in at the development OpenID Provider (op.mjs in dev mode: its real login and consent
// forms), comes back to the offer page, reads the credential offer and its transaction code from
// the page, and has the npm holder of presentation.mjs redeem it. A second browser with only the
// offer page's address must not be shown the offer. Screenshots of each step (and of the page
// where it failed) go to the given folder.
//
// Usage:
//   node journey_login.mjs INPUT.json
//     INPUT: { "page": <trustc's /credentials/{credential} page>, "chromium": <browser path>,
//              "locale": "en-CA", "account": "alice", "screenshots": <folder>,
//              "work": <folder for the holder's files>, "alg", "resolve" }
//
// Prints one JSON summary on stdout; exits 1 (with `failure` in the summary) when a step does not
// happen.

import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { chromium } from 'playwright-core'

import { describe } from './page_view.mjs'
import { presentationHolder } from './wallet.mjs'

/// How long one navigation or one element may take.
const STEP_MS = 20_000

const summary = {}
let browser
let current
let code = 0
const [inputPath] = process.argv.slice(2)
if (!inputPath) {
  console.error('usage: node journey_login.mjs INPUT.json')
  process.exit(2)
}
const input = JSON.parse(await readFile(inputPath, 'utf8'))
try {
  await journey()
} catch (error) {
  console.error(`the login journey failed: ${error?.stack ?? error}`)
  summary.failure = String(error?.message ?? error)
  if (current) {
    summary.failed_at = current.url()
    await shot(current, 'failure.png').catch(() => {})
  }
  code = 1
} finally {
  await browser?.close()
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
process.exit(code)

async function journey() {
  await mkdir(input.screenshots, { recursive: true })
  browser = await chromium.launch({ executablePath: input.chromium, args: ['--no-sandbox'] })
  const context = await browser.newContext({ locale: input.locale, viewport: { width: 900, height: 1000 } })
  context.setDefaultTimeout(STEP_MS)
  const page = await context.newPage()
  current = page
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(String(error)))

  // 1. "Get your credential": a page with one way on, to sign in.
  const first = await page.goto(input.page)
  const signIn = page.locator(`a[href$="/login"], form[action$="/login"] button`).first()
  summary.start = {
    http_status: first.status(),
    ...(await describe(page)),
    h1: await page.textContent('h1').catch(() => null),
    sign_in_text: (await signIn.textContent())?.trim() ?? null,
    sign_in_target: (await signIn.getAttribute('href')) ?? (await page.getAttribute('form[action$="/login"]', 'action')),
  }
  await page.keyboard.press('Tab')
  summary.start.first_focus = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? null)
  await shot(page, '1-start.png')

  // 2. The provider's own login form, then its consent form.
  await signIn.click()
  await page.waitForSelector('input[name=login]')
  summary.provider = { url: new URL(page.url()).origin, title: await page.title() }
  await shot(page, '2-provider-login.png')
  await page.fill('input[name=login]', input.account)
  await page.fill('input[name=password]', 'any password')
  await page.click('button[type=submit]')
  // The consent form, unless the provider remembers the consent.
  await page.waitForSelector('input[name=prompt][value=consent], #offer-link', { state: 'attached' })
  if (await page.locator('input[name=prompt][value=consent]').count()) await page.click('button[type=submit]')

  // 3. Back at trustc: the offer, as a QR code and a same-device link, with its transaction code.
  await page.waitForSelector('#offer-link')
  const offerPage = page.url()
  summary.offer = {
    url: offerPage,
    ...(await describe(page)),
    offer_link: await page.getAttribute('#offer-link', 'href'),
    tx_code: (await page.locator('#tx-code').textContent().catch(() => null))?.trim() ?? null,
    qr_size: await page.locator('.qr svg').boundingBox().catch(() => null),
    qr_label: await page.locator('.qr svg').getAttribute('aria-label').catch(() => null),
  }
  await page.keyboard.press('Tab')
  summary.offer.first_focus = await page.evaluate(() => document.activeElement?.id ?? null)
  await shot(page, '3-offer.png')

  // Another browser with the offer page's address only is not shown the offer.
  const other = await browser.newContext({ locale: 'fr-CA', viewport: { width: 900, height: 700 } })
  const otherPage = await other.newPage()
  current = otherPage
  const elsewhere = await otherPage.goto(offerPage)
  summary.elsewhere = {
    http_status: elsewhere.status(),
    ...(await describe(otherPage)),
    offer_link: (await otherPage.$('#offer-link')) !== null,
    shows_tx_code: summary.offer.tx_code ? (await otherPage.content()).includes(summary.offer.tx_code) : false,
  }
  await shot(otherPage, '4-elsewhere-fr.png')
  await other.close()
  current = page
  summary.console = problems

  // 4. The holder redeems the offer from the page.
  summary.redeemed = await presentationHolder(
    'person',
    { offer: summary.offer.offer_link, tx_code: summary.offer.tx_code, alg: input.alg, resolve: input.resolve },
    input.work,
  )
}

async function shot(page, name) {
  const path = join(input.screenshots, name)
  await page.screenshot({ path, fullPage: true })
  ;(summary.screenshots ??= []).push(path)
}
