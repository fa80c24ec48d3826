"""What a teacher opens, checked in headless Chromium: the run's index, every notebook page, the slide decks
(offline, paged through), and notebook 10's explorer live in JupyterLab. Screenshots (1280x720) go to the run
folder's screenshots/. Needs Debian's chromium and chromium-driver and selenium: CI installs them; run by
hand without them, the tests skip."""
import base64
import os
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

from lossviz import slides

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 720  # a seminar room's projector
FIGURES = slides.FIGURES


def _unavailable() -> str:
    """Why the browser tests cannot run here ("" when they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements.txt)"
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        return f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)"
    web = slides.missing_assets()
    return f"{', '.join(web)} missing (make setup installs reveal.js and MathJax)" if web else ""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with a 1280x720 viewport, its console log kept; quit at the end."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()


def errors(driver) -> list[str]:
    """The console's SEVERE entries since the last call: JavaScript errors and resources that failed to load."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver, script: str, timeout: float = 30.0, what: str = ""):
    """Poll a JavaScript expression until it is truthy; its value."""
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
    """How many figures (PNG, JPEG, GIF, SVG outputs) an executed notebook holds."""
    nb = nbformat.read(str(notebook), as_version=4)
    return sum(any(m in o.get("data", {}) for m in FIGURES) for c in nb.cells for o in c.get("outputs", []))


def open_page(driver, path: Path) -> None:
    """Open a file of the run as a teacher does (a file:// address, no server) and wait until it loaded."""
    driver.get(path.as_uri())
    wait_for(driver, "document.readyState === 'complete'")


def shot(driver, folder: Path, name: str) -> Path:
    """Save a 1280x720 screenshot as folder/name.png."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def math_rendered(driver) -> int:
    """Wait for the local MathJax to finish; the number of formulas it typeset."""
    wait_for(driver, "!!(window.MathJax && MathJax.startup && MathJax.startup.promise)", what="MathJax to load")
    return driver.execute_async_script(
        "const done = arguments[0]; MathJax.startup.promise.then("
        "() => done(document.querySelectorAll('mjx-container').length));")


def test_index_and_every_notebook_page_load_offline_with_all_figures(smoke_run, browser):
    folder, shots = smoke_run.folder, smoke_run.folder / "screenshots"
    open_page(browser, folder / "index.html")
    loaded = images(browser)
    assert len(loaded) == sum(bool(r.figure) for r in smoke_run.runs.values()) > 0
    assert all(i["w"] > 0 for i in loaded), loaded
    links = browser.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
    assert all((folder / link).is_file() for link in links), links
    decks = [link for link in links if link.endswith(".slides.html")]
    assert len(decks) == len(smoke_run.runs) == 12  # 00-10 and 03b
    shot(browser, shots, "index")
    assert errors(browser) == []
    for name in smoke_run.runs:
        open_page(browser, folder / f"{name}.html")
        loaded = images(browser)
        assert len(loaded) == figures(folder / f"{name}.ipynb"), name
        assert all(i["w"] > 0 for i in loaded), (name, loaded)
        if name.startswith("03"):
            assert math_rendered(browser) > 0, "the page's formulas are typeset by the local MathJax"
        shot(browser, shots, name)
        assert errors(browser) == [], name


def test_every_deck_works_offline_and_one_pages_through(smoke_run, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    folder, shots = smoke_run.folder, smoke_run.folder / "screenshots"
    for name in smoke_run.runs:
        open_page(browser, folder / "slides" / f"{name}.slides.html")
        wait_for(browser, "window.Reveal && Reveal.isReady()", what=f"reveal.js in {name}")
        loaded = images(browser)
        assert len(loaded) == figures(folder / f"{name}.ipynb") and all(i["w"] > 0 for i in loaded), name
        nb = nbformat.read(str(folder / f"{name}.ipynb"), as_version=4)
        kinds = [c.metadata["slideshow"]["slide_type"] for c in slides._for_deck(nb, "tagged").cells]
        assert browser.execute_script("return Reveal.getTotalSlides()") == kinds.count("slide") + kinds.count("subslide")
        shot(browser, shots, f"{name}.slides")
        assert errors(browser) == [], name

    open_page(browser, folder / "slides" / "03_depth_and_skip_connections.slides.html")
    wait_for(browser, "window.Reveal && Reveal.isReady()")
    assert math_rendered(browser) > 0
    assert browser.execute_script("return Reveal.getIndices()")["h"] == 0
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()  # a presenter's key press: the next section
    wait_for(browser, "Reveal.getIndices().h === 1", timeout=10, what="the right arrow to move to section 2")
    browser.execute_script("Reveal.slide(0, 0)")
    total = browser.execute_script("return Reveal.getTotalSlides()")
    seen = []
    for number in range(total):  # every slide and sub-slide, in the order Reveal.next() (space bar) shows them
        time.sleep(0.8)  # the slide transition
        seen.append(tuple(browser.execute_script("const i = Reveal.getIndices(); return [i.h, i.v]")))
        shot(browser, shots, f"03_slide_{number:02d}")
        browser.execute_script("Reveal.next()")
    assert len(set(seen)) == len(seen) == total and seen[0] == (0, 0)
    assert browser.execute_script("return Reveal.isLastSlide()")
    assert errors(browser) == []


# --- JupyterLab: notebook 10's explorer, live -------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(smoke_run, tmp_path):
    """JupyterLab on 127.0.0.1 (a random free port, a random token) serving a folder with notebook 10 at the
    smoke profile, the smoke run's warm cache in its environment; shut down in every case. Yields the URL."""
    import papermill

    if _unavailable() and not os.environ.get("CI"):
        pytest.skip(_unavailable())
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


def explorer_figure(driver, other_than: str = "", timeout: float = 180.0) -> str:
    """The PNG the explorer shows (its data URL), once it differs from `other_than`."""
    script = f"(() => {{ const s = {EXPLORER_IMAGE}; return s.startsWith('data:image/png') && s !== {other_than!r} && s; }})()"
    return wait_for(driver, script, timeout=timeout, what="the explorer's figure to change" if other_than else
                    "the explorer's first figure")


def shot_explorer(driver, folder: Path, name: str) -> Path:
    """A screenshot with the explorer's controls and figure in view (JupyterLab scrolls after running cells)."""
    time.sleep(1.0)
    driver.execute_script("document.querySelector('.widget-output').scrollIntoView({block: 'center'})")
    time.sleep(0.5)
    return shot(driver, folder, name)


def test_explorer_in_jupyterlab_redraws_when_the_network_or_alpha_changes(smoke_run, browser, jupyterlab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = smoke_run.folder / "screenshots"
    browser.get(jupyterlab)
    wait_for(browser, f"{KERNEL} && {KERNEL}.status === 'idle' && {NOTEBOOK}.content.widgets.length > 10",
             timeout=120, what="the notebook and an idle kernel")
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

    dropdown = Select(browser.find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    current = dropdown.first_selected_option.get_attribute("value")
    other = next(o.get_attribute("value") for o in dropdown.options if o.get_attribute("value") != current)
    dropdown.select_by_value(other)  # another network
    second = explorer_figure(browser, other_than=first)
    assert dropdown.first_selected_option.get_attribute("value") == other
    shot_explorer(browser, shots, "lab_explorer_network")

    handle = browser.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle")  # alpha, the first slider
    ActionChains(browser).click_and_hold(handle).move_by_offset(60, 0).release().perform()
    third = explorer_figure(browser, other_than=second)
    shot_explorer(browser, shots, "lab_explorer_alpha")
    for figure in (first, second, third):  # each a real PNG the kernel drew
        assert base64.b64decode(figure.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
