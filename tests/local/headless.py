"""A real headless browser for the tests: Chromium from Debian's packages (`make browser` installs it).

A page is opened from a file with a script of the test's own appended, which measures the laid-out page and
writes its findings into the DOM as JSON; `--dump-dom` hands back the DOM once the page has loaded. The page
under test carries no script of its own.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REPORT_ID = "headless-report"
INSTALL_HINT = "make browser installs it (apt-get install -y chromium)"


def find_browser() -> str | None:
    """The browser to use: $CHROMIUM names one, else the first of CANDIDATES on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if shutil.which(named) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if find_browser() is None:
        if os.environ.get("CHROMIUM"):
            return f"CHROMIUM={os.environ['CHROMIUM']} is not a command on this machine: {INSTALL_HINT}"
        return f"no headless Chromium on this machine ({', '.join(CANDIDATES)} not on PATH): {INSTALL_HINT}"
    return None


def measure(page: Path, script: str, workdir: Path, *, width: int = 1400, height: int = 1000) -> Any:
    """Loads a copy of the page with `script` (a JavaScript expression giving a JSON-able value) appended, and
    returns that value as the browser computed it on the laid-out page."""
    browser = find_browser()
    assert browser is not None, skip_reason()
    probe = workdir / f"measured-{page.name}"
    # The element is made in script, so its tag appears in the dumped DOM once: where the findings are.
    report = (
        "<script>{const found = document.createElement('pre');"
        f"found.id = '{REPORT_ID}'; found.textContent = JSON.stringify(({script}));"
        "document.body.appendChild(found);}</script>"
    )
    source = page.read_text(encoding="utf-8")
    probe.write_text(source.replace("</body>", report + "</body>"), encoding="utf-8")
    finished = subprocess.run(  # noqa: S603 - the browser found above, fixed arguments
        [
            browser,
            "--headless",
            "--no-sandbox",  # root in CI containers: Chromium's sandbox needs user namespaces
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={workdir / 'profile'}",
            f"--window-size={width},{height}",
            "--dump-dom",
            probe.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    dom = finished.stdout
    start = dom.find(f'<pre id="{REPORT_ID}">')
    assert start >= 0, "the browser ran no script, or did not load the page:\n" + dom[-2000:]
    text = dom[dom.index(">", start) + 1 : dom.index("</pre>", start)]
    return json.loads(html.unescape(text))
