"""What a teacher opens, measured in headless Chromium: the run's index, every notebook page, every slide of every
deck (the smoke run's and the published notebooks') at a projector's 1280x720 and at 1920x1080, and notebook 10's
explorer live in JupyterLab and in its RISE slideshow. Each slide is measured: how far its content runs past the
slide (px), whether anything scrolls or is clipped, its smallest font, how its printed lines wrap, the share its
figure takes. Screenshots of every slide and a contact sheet per deck are kept as test artefacts (the run
folder's screenshots/, or $LOSSVIZ_SCREENSHOTS: conftest.shots); the summary says where. Needs Debian's chromium
and chromium-driver (`make browser`) and selenium; without them the tests fail and say how to install them."""
import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lossviz.suite import layout, slides

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM") or "/usr/bin/chromium"  # the Makefile passes both on
CHROMEDRIVER = os.environ.get("LOSSVIZ_CHROMEDRIVER") or "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 720  # a seminar room's projector
SIZES = ((1280, 720), (1920, 1080))
SCALED = ("03b", "09_", "10_")  # the decks measured at the larger size too
FIGURES = slides.FIGURES
MIN_FONT_PX = layout.PRINT_MIN_PX  # no text on a slide below this (in the slide's 720-line pixels)
MIN_PAGE_FONT_PX = 12  # notebook pages and the index, read on a screen
INSTALL = ("`make browser` installs them (apt-get install chromium chromium-driver); elsewhere install Chromium and "
           "its chromedriver and set LOSSVIZ_CHROMIUM and LOSSVIZ_CHROMEDRIVER, or leave these tests out: "
           "make test-fast")


def unavailable() -> str:
    """Why the browser tests cannot run here ("" when they can), with how to fix it."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: `make setup` (pip install -r requirements.txt)"
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        return f"{', '.join(missing)} missing: {INSTALL}"
    web = slides.missing_assets()
    return f"{', '.join(web)} missing: `make setup` installs reveal.js and MathJax" if web else ""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with a 1280x720 viewport, its console log kept; quit at the end. Fails (one line saying
    how to install it) where Chromium is missing: the browser tests never skip silently."""
    reason = unavailable()
    if reason:
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--enable-unsafe-swiftshader",  # WebGL in software, for the interactive 3D figures
                f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        viewport(driver, WIDTH, HEIGHT)
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()


def viewport(driver, width: int, height: int) -> None:
    """Make the page `width` x `height` CSS pixels, as a screen or projector of that size shows it."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


@pytest.fixture(scope="module")
def published_decks(tmp_path_factory) -> Path:
    """Decks of the committed notebooks (their real quick-run outputs), as `make slides` builds them."""
    out = tmp_path_factory.mktemp("published") / "slides"
    slides.build(sorted(ROOT.glob("notebooks/[0-9][0-9]*.ipynb")), out)
    return out


def errors(driver) -> list[str]:
    """The console's SEVERE entries since the last call: JavaScript errors and resources that failed to load."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver, script: str, timeout: float = 30.0, what: str = ""):
    """Poll a JavaScript expression until it is truthy; its value (which must be JSON: `!!(...)` an object that is
    not, such as a DOM node or Plotly's layout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or script}")


def images(driver) -> list[dict]:
    """Every <img> on the page: its natural width and whether it finished loading."""
    wait_for(driver, "Array.from(document.images).every(i => i.complete)", what="images to load")
    return driver.execute_script(
        "return Array.from(document.images).map(i => ({w: i.naturalWidth, src: i.src.slice(0, 40)}))")


def figures(notebook: Path) -> int:
    """How many static figures (PNG, JPEG, GIF, SVG outputs, not the pictures of interactive ones) an executed
    notebook holds."""
    nb = nbformat.read(str(notebook), as_version=4)
    return sum(any(m in o.get("data", {}) for m in FIGURES) and not layout.is_interactive(o)
               for c in nb.cells for o in c.get("outputs", []))


def interactive_figures(notebook: Path) -> int:
    """How many interactive figures (Plotly specs: lossviz.views.surface3d) an executed notebook holds."""
    nb = nbformat.read(str(notebook), as_version=4)
    return sum(layout.is_interactive(o) for c in nb.cells for o in c.get("outputs", []))


def drawn_plots(driver) -> int:
    """Scroll each interactive figure of a page into view and wait until plotly.js drew it (a WebGL canvas); how
    many there are."""
    count = driver.execute_script("return document.querySelectorAll('.lossviz-plotly').length")
    for k in range(count):
        box = f"document.querySelectorAll('.lossviz-plotly')[{k}]"
        driver.execute_script(f"{box}.scrollIntoView()")
        wait_for(driver, f"!!({box}.dataset.drawn && {box}.querySelector('canvas'))", what=f"interactive figure {k}")
    return count


def open_page(driver, path: Path) -> None:
    """Open a file of the run as a teacher does (a file:// address, no server) and wait until it loaded."""
    driver.get(path.as_uri())
    wait_for(driver, "document.readyState === 'complete'")


def shot(driver, folder: Path, name: str) -> Path:
    """Save a screenshot of the viewport as folder/name.png."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def contact_sheet(pngs: list[Path], path: Path, columns: int = 4) -> Path:
    """The screenshots side by side, numbered, 320x180 each, as one PNG."""
    from PIL import Image, ImageDraw

    width, height, gap = 320, 180, 6
    rows = -(-len(pngs) // columns)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), (80, 80, 80))
    for k, png in enumerate(pngs):
        x, y = gap + k % columns * (width + gap), gap + k // columns * (height + gap)
        with Image.open(png) as image:
            sheet.paste(image.convert("RGB").resize((width, height), Image.LANCZOS), (x, y))
        ImageDraw.Draw(sheet).text((x + 4, y + 2), str(k + 1), fill=(200, 0, 0))
    sheet.save(path)
    return path


def math_rendered(driver) -> int:
    """Wait for the local MathJax to finish; the number of formulas it typeset."""
    wait_for(driver, "!!(window.MathJax && MathJax.startup && MathJax.startup.promise)", what="MathJax to load")
    return driver.execute_async_script(
        "const done = arguments[0]; MathJax.startup.promise.then("
        "() => done(document.querySelectorAll('mjx-container').length));")


# --- measuring a slide ---------------------------------------------------------------------------------------

VISIBLE = """// the first n characters of a text, whole code points (a lone surrogate cannot be sent back to Python)
const first = (text, n) => Array.from(text).slice(0, n).join('');
const visible = e => !e.closest('mjx-assistive-mml, aside.notes, .lossviz-plot')
  && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';"""
SMALLEST_FONT = """const smallest = root => { let font = 1e9, text = '';
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) { const node = walker.currentNode, parent = node.parentElement;
    if (!node.textContent.trim() || !visible(parent)) continue;
    const size = parseFloat(getComputedStyle(parent).fontSize);
    if (size < font) { font = size; text = first(node.textContent.trim(), 60); } }
  return [font, text]; };"""
CLIPPED = """const clipped = root => Array.from(root.querySelectorAll('*')).filter(e => visible(e)
  && /(auto|scroll|hidden)/.test(getComputedStyle(e).overflowX + getComputedStyle(e).overflowY)
  && Math.max(e.scrollHeight - e.clientHeight, e.scrollWidth - e.clientWidth) > 1)
  .map(e => e.tagName.toLowerCase() + '.' + e.className + ' hides ' + Math.max(e.scrollHeight - e.clientHeight,
       e.scrollWidth - e.clientWidth) + ' px');"""
MEASURE_SLIDE = VISIBLE + SMALLEST_FONT + CLIPPED + """
const box = document.querySelector('.reveal .slides').getBoundingClientRect();
const scale = box.width / Reveal.getConfig().width, slide = Reveal.getCurrentSlide();
let below = 0, right = 0, culprit = '';
for (const e of slide.querySelectorAll('*')) {
  if (!visible(e)) continue;
  const r = e.getBoundingClientRect();
  if (!r.width || !r.height) continue;
  const b = (r.bottom - box.bottom) / scale, x = Math.max((r.right - box.right) / scale, (box.left - r.left) / scale);
  if (b > below) { below = b; culprit = e.tagName.toLowerCase() + '.' + e.className; }
  right = Math.max(right, x, (box.top - r.top) / scale);
}
const [font, small] = smallest(slide);
const prints = Array.from(slide.querySelectorAll('pre.lossviz-print')).filter(visible).map(p => {
  const line = parseFloat(getComputedStyle(p).lineHeight);
  const lines = Array.from(p.children).map(s => Math.round(s.getBoundingClientRect().height / scale / line));
  return {planned: +p.dataset.lines, lines: lines, text: Array.from(p.children).map(s => s.textContent)}; });
const plain = Array.from(slide.querySelectorAll('.jp-OutputArea pre:not(.lossviz-print)')).filter(visible).map(p => {
  const style = getComputedStyle(p), line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
  const height = p.getBoundingClientRect().height / scale - parseFloat(style.paddingTop)
    - parseFloat(style.paddingBottom);
  return {lines: p.textContent.replace(/\\n$/, '').split('\\n').length, shown: Math.round(height / line)}; });
const figures = Array.from(slide.querySelectorAll('img, .lossviz-plotly')).filter(visible).map(i => {
  const r = i.getBoundingClientRect(); return {w: r.width / scale, h: r.height / scale}; });
const headings = Array.from(slide.querySelectorAll('h1, h2, h3')).map(h => h.innerText).join(' ');
return {below: below, right: right, culprit: culprit, clipped: clipped(slide), font: font, small: small,
        prints: prints, plain: plain, figures: figures, text: first(slide.innerText.trim(), 80),
        body: first(slide.innerText.replace(headings, '').trim(), 300)};"""
MEASURE_PAGE = VISIBLE + SMALLEST_FONT + CLIPPED + """
const page = document.scrollingElement;
const [font, small] = smallest(document.body);
return {sideways: page.scrollWidth - page.clientWidth, font: font, small: small, title: document.title,
        clipped: clipped(document.body).filter(c => !c.startsWith('pre') && !c.includes('jp-OutputArea'))};"""


def painted(driver) -> None:
    """Wait until the browser has laid out and painted what the last script changed (two animation frames)."""
    driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                "requestAnimationFrame(() => requestAnimationFrame(() => done()));")


def measure_deck(driver, deck: Path, folder: Path | None = None) -> list[dict]:
    """Every slide of a deck in order (reveal.js's h, v), measured in the slide's own pixels; screenshots of each
    (folder/<deck>_NN.png) and a contact sheet (folder/<deck>.sheet.png) when `folder` is given."""
    open_page(driver, deck)
    wait_for(driver, "window.Reveal && Reveal.isReady()", what=f"reveal.js in {deck.name}")
    images(driver)
    math_rendered(driver)
    driver.execute_script("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    indices = driver.execute_script("return Reveal.getSlides().map(s => Reveal.getIndices(s))")
    measured, pngs = [], []
    for number, index in enumerate(indices, 1):
        driver.execute_script(f"Reveal.slide({index['h']}, {index['v'] or 0})")
        wait_for(driver, f"Reveal.getIndices().h === {index['h']} && (Reveal.getIndices().v || 0) === "
                         f"{index['v'] or 0}", what=f"slide {number} of {deck.name}")
        painted(driver)
        measured.append({"slide": number, **driver.execute_script(MEASURE_SLIDE)})
        if folder is not None:
            pngs.append(shot(driver, folder, f"{deck.name.split('.')[0]}_{number:02d}"))
    if folder is not None:
        contact_sheet(pngs, folder / f"{deck.name.split('.')[0]}.sheet.png")
    return measured


def problems(deck: str, measured: list[dict]) -> list[str]:
    """What is wrong with a deck's slides, one line each (empty: every slide fits and reads)."""
    found = []
    for m in measured:
        where = f"{deck} slide {m['slide']} ({m['text'][:40]!r})"
        if m["below"] > 1 or m["right"] > 1:
            found.append(f"{where}: content runs {m['below']:.0f} px below, {m['right']:.0f} px beside the slide "
                         f"({m['culprit']})")
        found += [f"{where}: {c}" for c in m["clipped"]]
        if m["font"] < MIN_FONT_PX:
            found.append(f"{where}: text at {m['font']:.0f} px < {MIN_FONT_PX} px ({m['small']!r})")
        for p in m["prints"]:
            wrapped = [t for t, n, planned in zip(p["text"], p["lines"], layout.print_lines("\n".join(p["text"])))
                       if n > planned]
            if wrapped or sum(p["lines"]) > p["planned"]:
                found.append(f"{where}: printed lines wrap where the layout did not plan it: {wrapped[:2]}")
        for p in m["plain"]:
            if p["shown"] > p["lines"]:
                found.append(f"{where}: {p['lines']} printed lines wrap into {p['shown']}")
        for f in m["figures"]:
            if f["w"] < 0.75 * layout.SLIDE_W and f["h"] < 0.75 * layout.SLIDE_H:
                found.append(f"{where}: a figure of {f['w']:.0f}x{f['h']:.0f} px, under 3/4 of the slide's width "
                             "and of its height")
        if not m["figures"] and (not m["body"] or re.fullmatch(r"Next:.{0,200}", m["body"], flags=re.DOTALL)):
            found.append(f"{where}: no content but {m['body'][:60] or 'a heading'!r}")
    return found


def deck_title(notebook: Path) -> str:
    """The <title> a notebook's deck should have: the notebook's title, then "slides"."""
    return f"{slides.notebook_title(nbformat.read(str(notebook), as_version=4))} slides"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_slide_of_the_smoke_run_decks_fits_and_reads(smoke_run, browser, shots, size):
    """Every deck at the layout's own size; at the larger size (the same slides scaled) the decks with the most kinds
    of content: printed tables and a 3D view (03b), findings tables split over slides (09), the gallery (10)."""
    folder, found = smoke_run.folder, []
    viewport(browser, *size)
    names = list(smoke_run.runs) if size == (WIDTH, HEIGHT) else [n for n in smoke_run.runs if n[:3] in SCALED]
    assert names
    try:
        for name in names:
            deck = folder / "slides" / f"{name}.slides.html"
            # screenshots at the layout's own size only (the other size is the same slide scaled; measuring suffices)
            measured = measure_deck(browser, deck, shots / "smoke" if size == (WIDTH, HEIGHT) else None)
            found += problems(deck.name, measured)
            nb = nbformat.read(str(folder / f"{name}.ipynb"), as_version=4)
            kinds = [c.metadata["slideshow"]["slide_type"] for c in slides._for_deck(nb, "tagged").cells]
            assert len(measured) == kinds.count("slide") + kinds.count("subslide"), name
            assert browser.title == deck_title(folder / f"{name}.ipynb")
            assert len(images(browser)) == figures(folder / f"{name}.ipynb"), name
            assert browser.execute_script("return document.querySelectorAll('.lossviz-plotly').length") == \
                interactive_figures(folder / f"{name}.ipynb"), name
            assert errors(browser) == [], name
    finally:
        viewport(browser, WIDTH, HEIGHT)
    assert not found, "\n".join(found)


def test_every_slide_of_the_published_decks_fits_and_reads(published_decks, browser, shots):
    found = []
    for deck in sorted(published_decks.glob("*.slides.html")):
        found += problems(deck.name, measure_deck(browser, deck, shots / "published"))
        assert browser.title == deck_title(ROOT / "notebooks" / deck.name.replace(".slides.html", ".ipynb"))
        assert errors(browser) == [], deck.name
    assert len(list(published_decks.glob("*.slides.html"))) == 13
    assert not found, "\n".join(found)


def test_printed_text_is_as_wide_as_the_layout_plans(published_decks, browser):
    """layout.MONO_EM and WIDTH_PX against Chromium: a line of chars_per_line(f) characters fits, and the
    layout's margin is small (it does not shrink fonts or wrap lines for nothing)."""
    open_page(browser, next(published_decks.glob("01_*.slides.html")))
    wait_for(browser, "window.Reveal && Reveal.isReady()")
    index = browser.execute_script("return Reveal.getSlides().map(s => Reveal.getIndices(s)).find("
                                   "(i, k) => Reveal.getSlides()[k].querySelector('pre.lossviz-print'))")
    browser.execute_script(f"Reveal.slide({index['h']}, {index['v'] or 0})")
    time.sleep(0.5)
    width, em = browser.execute_script("""
const box = document.querySelector('.reveal .slides').getBoundingClientRect(), scale = box.width / 1280;
const pre = Reveal.getCurrentSlide().querySelector('pre.lossviz-print'), probe = document.createElement('span');
probe.style.cssText = 'display: inline; white-space: pre; font-size: 20px'; probe.textContent = 'x'.repeat(100);
pre.appendChild(probe); const em = probe.getBoundingClientRect().width / scale / 100 / 20; probe.remove();
return [pre.getBoundingClientRect().width / scale, em];""")
    assert 0.55 < em <= layout.MONO_EM < em * 1.05, em  # the layout's character is at most 5% too wide
    assert layout.WIDTH_PX <= width < layout.WIDTH_PX * 1.03, width


# --- notebook pages and the index ------------------------------------------------------------------------------

def test_index_and_every_notebook_page_load_offline_with_all_figures_and_fit(smoke_run, browser, shots):
    folder = smoke_run.folder
    open_page(browser, folder / "index.html")
    loaded = images(browser)
    assert len(loaded) == sum(bool(r.figure) for r in smoke_run.runs.values()) > 0
    assert all(i["w"] > 0 for i in loaded), loaded
    links = browser.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
    assert all((folder / link).is_file() for link in links), links
    decks = [link for link in links if link.endswith(".slides.html")]
    assert len(decks) == len(smoke_run.runs) == 13  # 00-10, 03b and 03c
    page = browser.execute_script(MEASURE_PAGE)
    shot(browser, shots, "index")
    assert page["sideways"] <= 0, f"the index scrolls sideways by {page['sideways']} px at {WIDTH} px"
    assert page["font"] >= MIN_PAGE_FONT_PX, page["small"]
    assert errors(browser) == []
    for name in smoke_run.runs:
        open_page(browser, folder / f"{name}.html")
        loaded = images(browser)
        assert len(loaded) == figures(folder / f"{name}.ipynb"), name
        assert all(i["w"] > 0 for i in loaded), (name, loaded)
        assert drawn_plots(browser) == interactive_figures(folder / f"{name}.ipynb"), name
        if name.startswith("03"):
            assert math_rendered(browser) > 0, "the page's formulas are typeset by the local MathJax"
        page = browser.execute_script(MEASURE_PAGE)
        assert page["title"] == slides.notebook_title(nbformat.read(str(folder / f"{name}.ipynb"), as_version=4))
        assert page["sideways"] <= 0 and page["clipped"] == [], (name, page)
        assert page["font"] >= MIN_PAGE_FONT_PX, (name, page["small"])
        shot(browser, shots, name)
        assert errors(browser) == [], name


def test_a_deck_pages_through_with_the_keys_a_presenter_uses(smoke_run, browser, shots):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, smoke_run.folder / "slides" / "03_depth_and_skip_connections.slides.html")
    wait_for(browser, "window.Reveal && Reveal.isReady()")
    assert math_rendered(browser) > 0
    assert browser.execute_script("return Reveal.getIndices()")["h"] == 0
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()  # a presenter's key press: the next section
    wait_for(browser, "Reveal.getIndices().h === 1", timeout=10, what="the right arrow to move to section 2")
    browser.execute_script("Reveal.slide(0, 0)")
    total = browser.execute_script("return Reveal.getTotalSlides()")
    seen = []
    for _ in range(total):  # every slide and sub-slide, in the order Reveal.next() (space bar) shows them
        time.sleep(0.8)  # the slide transition
        seen.append(tuple(browser.execute_script("const i = Reveal.getIndices(); return [i.h, i.v]")))
        browser.execute_script("Reveal.next()")
    assert len(set(seen)) == len(seen) == total and seen[0] == (0, 0)
    assert browser.execute_script("return Reveal.isLastSlide()")
    assert errors(browser) == []


# --- interactive 3D figures (lossviz.views.surface3d) in a deck and a page, offline ------------------------------

PLOTS = "document.querySelectorAll('.lossviz-plotly')"
CAMERA = "JSON.stringify(document.querySelector('.lossviz-plot')._fullLayout.scene._scene.getCamera())"
REMOTE = ("performance.getEntriesByType('resource').map(e => e.name)"
          ".filter(n => !/^(file|data|blob):/.test(n))")  # every request that is not a local file


@pytest.fixture(scope="module")
def interactive_site(tmp_path_factory) -> Path:
    """A notebook with one interactive figure (two bowls on one z range) between two text slides, as a deck and a
    page, with the assets copied beside them as the runner does (screenshots in its screenshots/)."""
    import numpy as np

    from lossviz.base import io
    from lossviz.views import surface3d

    x = np.linspace(-1, 1, 21)
    X, Y = np.meshgrid(x, x)
    planes = {k: io.Surface(x, x, {"train_loss": k * (0.05 + 3 * (X ** 2 + Y ** 2)),
                                   "train_acc": 100 - 10 * (X ** 2 + Y ** 2)}, np.ones(X.shape, bool))
              for k in (1.0, 3.0)}
    spec = surface3d.compare(planes, {1.0: "narrow", 3.0: "wide"}, vmax=10.0, log=True, display=False)
    picture = surface3d.picture([surface3d.panel(s, str(k)) for k, s in planes.items()], vmax=10.0, log=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Interactive surfaces\n\nA deck with a 3D figure."),
                nbformat.v4.new_markdown_cell("## Two bowls\n\nDrag to turn them."),
                nbformat.v4.new_code_cell("lv.surface3d.compare(planes, captions)",
                                          outputs=[nbformat.v4.new_output("display_data",
                                                                          data=surface3d.bundle(spec, picture))]),
                nbformat.v4.new_markdown_cell("## After the figure\n\nThe next slide.")]
    folder = tmp_path_factory.mktemp("interactive")
    nbformat.write(nb, str(folder / "99_interactive.ipynb"))
    slides.build([folder / "99_interactive.ipynb"], folder / "slides")
    (folder / "99_interactive.html").write_text(slides.page_html(
        nb, mathjax_url=f"slides/{slides.MATHJAX}", plotly_url=f"slides/{slides.PLOTLY_JS}"), encoding="utf-8")
    return folder


def drag(driver, element, dx: int = 160, dy: int = 60) -> None:
    """A mouse drag across an element, left of its centre (where a 3D scene is)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element_with_offset(element, -element.size["width"] // 4, 0).click_and_hold() \
        .move_by_offset(dx // 2, dy // 2).move_by_offset(dx // 2, dy // 2).release().perform()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_an_interactive_slide_renders_offline_fits_turns_and_keeps_the_deck_keys(interactive_site, browser, size):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    viewport(browser, *size)
    try:
        open_page(browser, interactive_site / "slides" / "99_interactive.slides.html")
        wait_for(browser, "window.Reveal && Reveal.isReady()")
        browser.execute_script("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
        assert browser.execute_script(f"return {PLOTS}.length") == 1
        assert browser.execute_script("return document.querySelectorAll('.lossviz-plot').length") == 0  # not shown
        index = browser.execute_script("return Reveal.getIndices(Reveal.getSlides().find(s => "
                                       f"s.contains({PLOTS}[0])))")
        browser.execute_script(f"Reveal.slide({index['h']}, {index['v'] or 0})")
        wait_for(browser, f"{PLOTS}[0].dataset.drawn && {PLOTS}[0].querySelector('canvas')", what="the 3D figure")
        time.sleep(0.5)
        assert browser.execute_script("return document.body.innerText.includes('WebGL')") is False  # no fallback text
        measured = browser.execute_script(MEASURE_SLIDE)
        assert measured["below"] <= 1 and measured["right"] <= 1, measured
        assert len(measured["figures"]) == 1 and abs(measured["figures"][0]["w"] - layout.FIGURE_W_PX) <= 4, measured
        assert measured["figures"][0]["h"] >= 0.85 * layout.ROOM_PX  # a whole slide
        assert problems("interactive", [{"slide": 0, **measured}]) == []
        shot(browser, interactive_site / "screenshots", f"deck_{size[0]}x{size[1]}")
        before = browser.execute_script(f"return {CAMERA}")
        drag(browser, browser.find_element(By.CSS_SELECTOR, ".lossviz-plot"))
        wait_for(browser, f"{CAMERA} !== {before!r}", timeout=10, what="the drag to turn the camera")
        shot(browser, interactive_site / "screenshots", f"deck_{size[0]}x{size[1]}_turned")
        ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()  # the presenter's key, after the drag
        wait_for(browser, f"Reveal.getIndices().h === {index['h'] + 1}", timeout=10, what="the right arrow")
        wait_for(browser, "document.querySelectorAll('.lossviz-plot').length === 0", timeout=10,
                 what="the figure to be purged once its slide is left")
        ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
        wait_for(browser, f"Reveal.getIndices().h === {index['h']}", timeout=10, what="the left arrow")
        assert browser.execute_script(f"return {REMOTE}") == []
        assert errors(browser) == []
    finally:
        viewport(browser, WIDTH, HEIGHT)


def test_an_interactive_page_renders_offline_quickly_turns_and_hovers(interactive_site, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page = interactive_site / "99_interactive.html"
    start = time.perf_counter()
    open_page(browser, page)
    assert drawn_plots(browser) == 1
    seconds = time.perf_counter() - start
    assert seconds < 10, f"the page took {seconds:.1f} s to load and draw its 3D figure"  # (a loaded CI machine)
    before = browser.execute_script(f"return {CAMERA}")
    plot = browser.find_element(By.CSS_SELECTOR, ".lossviz-plot")
    drag(browser, plot)
    wait_for(browser, f"{CAMERA} !== {before!r}", timeout=10, what="the drag to turn the camera")
    hover = ""
    for dx in range(-plot.size["width"] // 4 - 60, -plot.size["width"] // 4 + 60, 20):  # over the first surface
        ActionChains(browser).move_to_element_with_offset(plot, dx, 30).perform()
        time.sleep(0.3)
        hover = browser.execute_script("return Array.from(document.querySelectorAll('.hovertext'))"
                                       ".map(e => e.textContent).join(' ')")
        if "train loss" in hover:
            break
    assert all(word in hover for word in ("α", "β", "train loss", "train accuracy")), hover
    shot(browser, interactive_site / "screenshots", "page_hover")
    assert browser.execute_script(f"return {REMOTE}") == []
    page_kb, js_kb = page.stat().st_size / 1024, (interactive_site / "slides" / slides.PLOTLY_JS).stat().st_size / 1024
    print(f"page {page_kb:.0f} KiB, plotly.js {js_kb:.0f} KiB, loaded and drawn in {seconds:.1f} s")
    assert errors(browser) == []


# --- JupyterLab and RISE: notebook 10's explorer, live ---------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(smoke_run, browser, tmp_path):
    """JupyterLab on 127.0.0.1 (a random free port, a random token) serving a folder with notebook 10 at the
    smoke profile, the smoke run's warm cache in its environment; shut down in every case. Yields the URL."""
    import papermill

    root = tmp_path / "lab"
    root.mkdir()
    notebook = root / "10_gallery.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "10_gallery.ipynb"), str(notebook),
                               parameters={"profile": "smoke"}, prepare_only=True, progress_bar=False)
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, str(notebook))
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no pop-up over the explorer
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "LOSSVIZ_STATIC"}  # live widgets, not static figures
    env.update(smoke_run.env, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"),
               IPYTHONDIR=str(tmp_path / "ipython"))
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI runs as root
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start within 90 s"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/10_gallery.ipynb?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group: it and its kernel
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()


NOTEBOOK = "window.jupyterapp && jupyterapp.shell.currentWidget"
KERNEL = f"{NOTEBOOK} && {NOTEBOOK}.sessionContext.session && {NOTEBOOK}.sessionContext.session.kernel"
EXPLORER_IMAGE = "Array.from(document.querySelectorAll('.widget-output img')).map(i => i.src).pop() || ''"
SLIDER_HANDLE = ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle"  # ipywidgets 8, 7


def explorer_figure(driver, other_than: str = "", timeout: float = 180.0) -> str:
    """The PNG the explorer shows (its data URL), once it differs from `other_than`."""
    script = (f"(() => {{ const s = {EXPLORER_IMAGE}; "
              f"return s.startsWith('data:image/png') && s !== {other_than!r} && s; }})()")
    return wait_for(driver, script, timeout=timeout, what="the explorer's figure to change" if other_than else
                    "the explorer's first figure")


def shot_explorer(driver, folder: Path, name: str) -> Path:
    """A screenshot with the explorer's controls and figure in view (JupyterLab scrolls after running cells)."""
    time.sleep(1.0)
    driver.execute_script("document.querySelector('.widget-output').scrollIntoView({block: 'center'})")
    time.sleep(0.5)
    return shot(driver, folder, name)


def lab_plot_turns(driver, element: str) -> None:
    """A Plotly figure in JupyterLab (`element`: a JavaScript expression) becomes live when the mouse enters its
    picture, and a drag turns its camera."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script(f"{element}.scrollIntoView({{block: 'center'}})")
    time.sleep(0.5)
    node = driver.execute_script(f"return {element}")
    ActionChains(driver).move_to_element(node).perform()  # jupyterlab-plotly draws the figure on mouse enter
    wait_for(driver, f"!!({element}.querySelector('.plot-container canvas') && {element}._fullLayout)", timeout=60,
             what="JupyterLab's Plotly renderer to draw the figure")
    camera = f"JSON.stringify({element}._fullLayout.scene._scene.getCamera())"
    before = driver.execute_script(f"return {camera}")
    drag(driver, node)
    wait_for(driver, f"{camera} !== {before!r}", timeout=10, what="a drag to turn the figure in JupyterLab")


def other_network(driver) -> str:
    """Choose another network in the explorer's dropdown (the first on the page); the value chosen."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    dropdown = Select(driver.find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    current = dropdown.first_selected_option.get_attribute("value")
    other = next(o.get_attribute("value") for o in dropdown.options if o.get_attribute("value") != current)
    dropdown.select_by_value(other)
    return other


def test_explorer_is_live_in_jupyterlab_and_in_its_rise_slideshow(smoke_run, browser, shots, jupyterlab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    viewport(browser, 1600, 900)  # JupyterLab beside its RISE preview
    try:
        browser.get(jupyterlab)
        wait_for(browser, f"{KERNEL} && {KERNEL}.status === 'idle' && {NOTEBOOK}.content.widgets.length > 10",
                 timeout=120, what="the notebook and an idle kernel")
        committed = json.loads((ROOT / "notebooks" / "10_gallery.ipynb").read_text(encoding="utf-8"))["metadata"]
        assert browser.execute_script(f"return {NOTEBOOK}.model.getMetadata('kernelspec')") == committed["kernelspec"]
        if committed["language_info"]["version"] == ".".join(map(str, sys.version_info[:3])):
            assert not browser.execute_script(f"return {NOTEBOOK}.model.dirty"), "opening it changed the notebook"
        browser.execute_script("jupyterapp.commands.execute('notebook:run-all-cells')")
        wait_for(browser, f"{KERNEL}.status === 'idle' && {NOTEBOOK}.content.widgets.every("
                          "c => c.model.type !== 'code' || c.model.executionCount !== null)",
                 timeout=400, what="every cell of notebook 10 to run")
        failures = browser.execute_script(
            f"return {NOTEBOOK}.content.widgets.flatMap(c => c.model.type === 'code' ? c.model.outputs.toJSON() : [])"
            ".filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)")
        assert failures == []
        first = explorer_figure(browser)
        shot_explorer(browser, shots, "lab_explorer_before")
        other_network(browser)
        second = explorer_figure(browser, other_than=first)
        shot_explorer(browser, shots, "lab_explorer_network")
        handle = browser.find_element(By.CSS_SELECTOR, SLIDER_HANDLE)  # alpha, the first slider
        ActionChains(browser).click_and_hold(handle).move_by_offset(60, 0).release().perform()
        third = explorer_figure(browser, other_than=second)
        shot_explorer(browser, shots, "lab_explorer_alpha")
        for figure in (first, second, third):  # each a real PNG the kernel drew
            assert base64.b64decode(figure.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"

        # the gallery's reliefs and the explorer's 3D mode are live Plotly figures (jupyterlab-plotly) that turn
        assert browser.execute_script("return document.querySelectorAll('.jp-RenderedPlotly').length") >= 4
        lab_plot_turns(browser, "document.querySelector('.jp-Notebook .jp-RenderedPlotly')")
        browser.find_element(By.XPATH, "//div[contains(@class, 'widget-toggle-buttons')]"
                                       "//button[normalize-space() = '3d']").click()
        wait_for(browser, "document.querySelector('.widget-output .jp-RenderedPlotly')", timeout=180,
                 what="the explorer's interactive 3D mode")
        lab_plot_turns(browser, "document.querySelector('.widget-output .jp-RenderedPlotly')")
        shot_explorer(browser, shots, "lab_explorer_3d")

        # the README's promise: Alt+R presents the notebook with RISE, and the explorer stays live there
        cell = browser.execute_script(f"return {NOTEBOOK}.content.widgets.findIndex(c => c.node.querySelector("
                                      "'.widget-dropdown'))")
        browser.execute_script(f"jupyterapp.shell.currentWidget.content.activeCellIndex = {cell}; "
                               "jupyterapp.commands.execute('RISE:preview')")
        frame = wait_for(browser, "document.querySelector('iframe[src*=\"/rise/\"]')", timeout=60,
                         what="RISE's slideshow")
        browser.switch_to.frame(frame)
        try:
            wait_for(browser, "document.querySelector('.reveal .present .widget-dropdown select')", timeout=120,
                     what="the explorer's controls in RISE's slideshow (ipywidgets 8 shows them as text: "
                          "requirements.txt pins ipywidgets 7.8.5)")
            before = explorer_figure(browser)
            shot(browser, shots, "rise_explorer_before")
            other_network(browser)
            after = explorer_figure(browser, other_than=before)
            shot(browser, shots, "rise_explorer_network")
            assert base64.b64decode(after.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.switch_to.default_content()
    finally:
        viewport(browser, WIDTH, HEIGHT)
