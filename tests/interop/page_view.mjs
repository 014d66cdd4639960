// What a holder-facing page of trustc shows in the browser (journey.mjs, journey_login.mjs): its
// language, title, heading, status line and branding as Chromium rendered them, and whether it
// reloads itself or runs scripts.

/// What the page shows: its language, title, status line and branding as the browser rendered
/// them.
export async function describe(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.title,
    heading: document.querySelector('h2')?.textContent ?? null,
    status: document.querySelector('#status')?.textContent ?? null,
    status_live: document.querySelector('#status')?.getAttribute('aria-live') ?? null,
    header_background: document.querySelector('header')
      ? getComputedStyle(document.querySelector('header')).backgroundColor
      : null,
    header_color: document.querySelector('header') ? getComputedStyle(document.querySelector('header')).color : null,
    refreshes: document.querySelector('meta[http-equiv="refresh"]') !== null,
    scripts: document.scripts.length,
  }))
}
