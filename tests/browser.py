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
