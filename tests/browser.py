"""Headless Chromium for report tests: the system browser driven by Playwright (no browser download)."""

import shutil

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    return next((shutil.which(name) for name in CHROMIUM_CANDIDATES if shutil.which(name)), None)


def open_offline(path: str):
    """Loads a local HTML file; returns (page facts, console errors, non-local requests)."""
    from playwright.sync_api import sync_playwright

    errors, external = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: external.append(req.url)
                if not req.url.startswith(("file:", "data:", "about:")) else None)
        page.goto(f"file://{path}", wait_until="load")
        facts = page.evaluate("""() => ({
            charts: document.querySelectorAll('svg.chart').length,
            bars: document.querySelectorAll('svg.chart rect.bar').length,
            images: Array.from(document.querySelectorAll('.grid img')).map(i => [i.complete, i.naturalWidth]),
            broken: document.querySelectorAll('.grid .broken').length,
            quarantineRows: Array.from(document.querySelectorAll('table.quarantine tbody tr')).map(
                tr => Array.from(tr.cells).map(td => td.textContent)),
            sections: Array.from(document.querySelectorAll('h2')).map(h => h.id),
            metricsRows: document.querySelectorAll('table.metrics tbody tr').length,
        })""")
        browser.close()
    return facts, errors, external


#: Facts about the Facets pages, read in the page: custom elements defined, shadow DOM rendered, Dive's items.
_FACETS_FACTS = """() => {
  const overviews = Array.from(document.querySelectorAll('facets-overview'));
  const dive = document.querySelector('facets-dive');
  const vis = dive && dive.shadowRoot ? dive.shadowRoot.querySelector('facets-dive-vis') : null;
  const backing = vis && vis._backing;
  return {
    overviewDefined: !!customElements.get('facets-overview'),
    diveDefined: !!customElements.get('facets-dive'),
    overviewShadowText: overviews.map(o => o.shadowRoot ? o.shadowRoot.textContent.replace(/\\s+/g, ' ') : ''),
    overviewTables: overviews.map(o => o.shadowRoot ? o.shadowRoot.querySelectorAll('facets-overview-table').length : 0),
    diveItems: backing && backing.items ? backing.items.length : -1,
    diveData: dive && dive.data ? dive.data.length : -1,
    diveKeys: dive && dive.data && dive.data.length ? Object.keys(dive.data[0]) : [],
    diveCanvas: dive && dive.shadowRoot ? dive.shadowRoot.querySelectorAll('canvas').length +
      (vis && vis.shadowRoot ? vis.shadowRoot.querySelectorAll('canvas').length : 0) + (vis ? vis.querySelectorAll('canvas').length : 0) : 0,
  };
}"""


def open_facets(path: str, settle_ms: int = 4000):
    """Loads a Facets page from file:// with every non-file request blocked; returns (facts, errors, blocked)."""
    from playwright.sync_api import sync_playwright

    errors, blocked = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            return request_route.continue_()
        blocked.append(url)
        return request_route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url[:200]}"))
        page.route("**/*", route)
        page.goto(f"file://{path}", wait_until="load")
        page.wait_for_timeout(settle_ms)
        facts = page.evaluate(_FACETS_FACTS)
        browser.close()
    return facts, errors, blocked
