// The holder's web journey in a real browser: Debian's Chromium, driven by playwright-core (which
// downloads no browser of its own), opens the holder's page of a Lawyer offer on a live
// `trustc serve`, reads the OpenID4VP request from it, has the npm holder of presentation.mjs
// answer it with the Person credential, waits for the page (which reloads itself, no JavaScript)
// to show the credential offer and its transaction code, and has the same holder redeem that
// offer. Screenshots of each step go to the given folder for a person to look at.
//
// Usage:
//   node journey.mjs INPUT.json
//     INPUT: { "page": <the offer's holder_page>, "chromium": <path of the browser>,
//              "locale": "en-CA", "screenshots": <folder>, "work": <folder for the holder's files>,
//              "person_credential", "holder_jwk_private", "alg", "resolve" }
//
// Prints one JSON summary on stdout: what the page showed at each step, what the verifier and the
// issuer answered the holder, and the Lawyer credential's claims as the holder checked them. Exits
// 1 (with `failure` in the summary) when a step does not happen.

import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { chromium } from 'playwright-core'

import { describe } from './page_view.mjs'
import { presentationHolder } from './wallet.mjs'

/// How long the page may take to move on after the presentation (it reloads every 3 s).
const MOVE_ON_MS = 30_000

const here = dirname(fileURLToPath(import.meta.url))
const summary = {}
/// Where the holder's input files go (the test's own folder).
let workFolder = here
let browser
let code = 0
try {
  const [inputPath] = process.argv.slice(2)
  if (!inputPath) {
    console.error('usage: node journey.mjs INPUT.json')
    process.exit(2)
  }
  await journey(JSON.parse(await readFile(inputPath, 'utf8')))
} catch (error) {
  console.error(`the journey failed: ${error?.stack ?? error}`)
  summary.failure = String(error?.message ?? error)
  code = 1
} finally {
  await browser?.close()
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
process.exit(code)

async function journey(input) {
  await mkdir(input.screenshots, { recursive: true })
  workFolder = input.work ?? here
  const shot = async (page, name) => {
    const path = join(input.screenshots, name)
    await page.screenshot({ path, fullPage: true })
    ;(summary.screenshots ??= []).push(path)
  }
  browser = await chromium.launch({
    executablePath: input.chromium,
    // As root, Chromium runs only without its sandbox.
    args: ['--no-sandbox'],
  })
  const context = await browser.newContext({ locale: input.locale, viewport: { width: 900, height: 1000 } })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(String(error)))
  let loads = 0
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) loads += 1
  })

  // 1. The page asks for the Person credential.
  const first = await page.goto(input.page)
  summary.present = {
    http_status: first.status(),
    ...(await describe(page)),
    presentation_link: await page.getAttribute('#presentation-link', 'href'),
    qr_size: await page.locator('.qr svg').boundingBox(),
  }
  // The first stop of the keyboard is the same-device link.
  await page.keyboard.press('Tab')
  summary.present.first_focus = await page.evaluate(() => document.activeElement?.id ?? null)
  await shot(page, '1-present.png')

  // 2. The holder answers that request from its wallet.
  summary.answer = await presentationHolder('answer', {
    request: summary.present.presentation_link,
    person_credential: input.person_credential,
    holder_jwk_private: input.holder_jwk_private,
    alg: input.alg,
  }, workFolder)

  // 3. The page moves on by itself to the offer and its transaction code.
  const loadsBefore = loads
  await page.waitForSelector('#offer-link', { timeout: MOVE_ON_MS })
  summary.offer = {
    reloads: loads - loadsBefore,
    ...(await describe(page)),
    offer_link: await page.getAttribute('#offer-link', 'href'),
    tx_code: (await page.textContent('#tx-code'))?.trim() ?? null,
    presentation_link_left: (await page.$('#presentation-link')) !== null,
  }
  await shot(page, '2-offer.png')

  // Another browser, in French, with the page's address only, is not shown the offer.
  const other = await browser.newContext({ locale: 'fr-CA', viewport: { width: 900, height: 700 } })
  const otherPage = await other.newPage()
  const elsewhere = await otherPage.goto(input.page)
  summary.elsewhere = {
    http_status: elsewhere.status(),
    ...(await describe(otherPage)),
    offer_link: await otherPage.$('#offer-link').then((e) => e !== null),
    shows_tx_code: (await otherPage.content()).includes(summary.offer.tx_code),
  }
  await shot(otherPage, '3-elsewhere-fr.png')
  await other.close()
  summary.console = problems

  // 4. The holder redeems the offer from the page, with its transaction code.
  summary.redeemed = await presentationHolder('redeem', {
    offer: summary.offer.offer_link,
    tx_code: summary.offer.tx_code,
    holder_jwk_private: input.holder_jwk_private,
    alg: input.alg,
    resolve: input.resolve,
  }, workFolder)
}
