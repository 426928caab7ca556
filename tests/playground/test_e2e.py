"""End-to-end tests of the playground page in a real browser: Debian's chromium driven by
Selenium through the system chromedriver (.ci/run installs both when missing). Skipped, with the
reason, where no browser or driver can be found.

With CHAINRULE_PLAYGROUND_SCREENSHOTS=DIR set, the tests also save the docs' screenshots there.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Client

pytestmark = pytest.mark.slow

SHOTS = os.environ.get("CHAINRULE_PLAYGROUND_SCREENSHOTS")


def _browser() -> tuple[str, str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        binary = shutil.which(name)
        if binary:
            break
    else:
        pytest.skip("no chromium found (apt-get install chromium chromium-driver)")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if driver is None:
        pytest.skip("no chromedriver found (apt-get install chromium-driver)")
    return binary, driver


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium not installed: pip install 'chainrule[e2e]'")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    binary, chromedriver = _browser()
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    profile = tempfile.mkdtemp(prefix="chainrule-e2e-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    try:
        d = webdriver.Chrome(service=Service(chromedriver), options=opts)
    except WebDriverException as e:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium could not start: {e.msg}")
    d.set_page_load_timeout(30)
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except Exception as e:  # an element not there yet
            last = e
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Page:
    def __init__(self, d: Any, server: Any) -> None:
        self.d = d
        self.base = server.url
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select
        self.By, self.Select = By, Select

    def open(self, query: str = "") -> None:
        self.d.get(self.base + (("?" + query) if query else ""))
        wait(lambda: self.d.execute_script("return typeof sid === 'string' && last !== null "
                                           "&& last.config !== undefined"), what="first state")

    def el(self, testid: str) -> Any:
        return self.d.find_element(self.By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def all(self, testid_prefix: str) -> list[Any]:
        return self.d.find_elements(self.By.CSS_SELECTOR, f'[data-testid^="{testid_prefix}"]')

    def select(self, testid: str, value: str) -> None:
        self.Select(self.el(testid)).select_by_value(value)

    def sid(self) -> str:
        return str(self.d.execute_script("return sid"))

    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.d.current_url).query,
                                              keep_blank_values=True).items()}

    def server_config(self, client: Client) -> dict[str, Any]:
        status, state = client.get(f"/api/session/{self.sid()}/state")
        assert status == 200, state
        return dict(state["config"])

    def loss(self, which: str) -> float:
        t = self.el(f"{which}-loss").text
        return float(t) if t not in ("", "–") else float("inf")

    def shot(self, name: str) -> None:
        if not SHOTS:
            return
        wait(lambda: self.d.execute_script("return last && last.playing") is False,
             what="paused before the picture")
        time.sleep(0.5)  # the last state drawn
        path = Path(SHOTS) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.d.save_screenshot(str(path))
        try:  # 256 colours keep each picture well under 300 KB
            from PIL import Image
        except ImportError:
            return
        Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
            path, optimize=True)


@pytest.fixture
def page(driver: Any, server: Any) -> Page:
    return Page(driver, server)


def test_train_xor_until_the_test_loss_is_small(page: Page, client: Client):
    page.open("dataset=xor&layers=4,2&activation=tanh&lr=0.03&seed=1&batch=30")
    page.select("optimizer", "adam")
    wait(lambda: page.server_config(client)["optimizer"] == "adam", what="adam on the server")
    page.el("play-pause").click()
    wait(lambda: page.loss("test") < 0.1, timeout=60, what="test loss < 0.1")
    page.el("play-pause").click()  # pause
    wait(lambda: "play" in page.el("play-pause").text, what="paused")
    iterations = int(page.el("iteration").text.replace(",", ""))
    assert iterations > 0
    assert page.query()["optimizer"] == "adam"
    assert len(page.all("link-")) == 2 * 4 + 4 * 2 + 2  # one link per weight
    page.el("show-test").click()
    page.shot("playground-xor.png")


def test_switch_activation_and_dataset(page: Page, client: Client):
    page.open()
    page.el("step").click()
    wait(lambda: page.el("iteration").text.endswith("1"), what="one step")
    page.select("activation", "relu")
    page.el("dataset-circle").click()
    wait(lambda: page.server_config(client)["dataset"] == "circle", what="circle")
    cfg = page.server_config(client)
    assert cfg["activation"] == "relu"
    assert page.query()["activation"] == "relu" and page.query()["dataset"] == "circle"
    wait(lambda: page.el("iteration").text.replace(",", "").lstrip("0") == "", what="reset to 0")
    assert "on" in page.el("dataset-circle").get_attribute("class")
    page.select("activation", "threshold")  # the page says why it cannot learn
    wait(lambda: "∂y/∂z = 0" in page.el("unit-note").text, what="the threshold note")


def test_add_a_layer_and_units(page: Page, client: Client):
    page.open("layers=4,2")
    page.el("add-layer").click()
    wait(lambda: page.el("layer-count").text == "3", what="3 layers")
    wait(lambda: page.el("unit-2-1"), what="the new layer's units")
    page.el("add-unit-2").click()
    wait(lambda: page.server_config(client)["layers"] == [4, 2, 3], what="layers 4,2,3")
    wait(lambda: page.el("unit-2-2"), what="the added unit")
    assert page.query()["layers"] == "4,2,3"
    page.el("remove-layer").click()
    wait(lambda: page.server_config(client)["layers"] == [4, 2], what="back to 2 layers")
    for _ in range(2):
        page.el("remove-layer").click()
        time.sleep(0.3)
    wait(lambda: page.server_config(client)["layers"] == [], what="no hidden layer")
    wait(lambda: len(page.all("link-")) == 2, what="x1, x2 linked to the output")
    assert not page.all("unit-0-")


def test_upload_a_csv(page: Page, client: Client, tmp_path: Path):
    page.open()
    good = tmp_path / "ring.csv"
    rows = ["x1,x2,label"]
    for i in range(90):
        r = 1.0 + (i % 3)
        a = i * 0.7
        rows.append(f"{r * math.cos(a):.4f},{r * math.sin(a):.4f},{i % 3}")
    good.write_text("\n".join(rows) + "\n")
    page.el("upload-input").send_keys(str(good))
    wait(lambda: "90 points" in page.el("upload-message").text, what="upload accepted")
    assert "multiclass, 3 classes" in page.el("upload-message").text
    wait(lambda: page.server_config(client)["dataset"] == "custom", what="custom data")
    assert "on" in page.el("dataset-custom").get_attribute("class")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,four,1\n")
    page.el("upload-input").send_keys(str(bad))
    wait(lambda: "line 3" in page.el("upload-message").text, what="the bad line named")
    assert "bad" in page.el("upload-message").get_attribute("class")


def test_url_round_trip(page: Page, client: Client, driver: Any):
    query = ("dataset=spiral&noise=10&ratio=70&batch=5&seed=42&classes=3&points=600"
             "&features=x1,x2,sin(x1)&layers=6,5&activation=softplus&lr=0.1&reg=l2"
             "&regRate=0.001&optimizer=momentum&loss=cross-entropy&preset=none")
    page.open(query)
    want = {k: v[0] for k, v in parse_qs(query).items()}
    cfg = page.server_config(client)
    assert cfg["layers"] == [6, 5] and cfg["features"] == ["x1", "x2", "sin(x1)"]
    assert (cfg["dataset"], cfg["classes"], cfg["seed"], cfg["lr"]) == ("spiral", 3, 42, 0.1)
    assert page.query() == want
    assert page.el("activation").get_attribute("value") == "softplus"
    assert page.el("optimizer").get_attribute("value") == "momentum"
    assert page.el("ratio").get_attribute("value") == "70"
    first = client.get(f"/api/session/{page.sid()}/state")[1]
    page.open(urlsplit(driver.current_url).query)  # the link reproduces the run
    again = client.get(f"/api/session/{page.sid()}/state")[1]
    assert again["config"] == first["config"] and again["weights"] == first["weights"]
    assert again["data"] == first["data"]
    page.open("layers=9&bogus=1")  # strict: a bad link is refused, and says why
    wait(lambda: "not used" in page.el("error-banner").text, what="the refusal")
    assert "unknown key bogus" in page.el("error-banner").text
    assert page.server_config(client)["layers"] == [4, 2]


def test_step_through_one_backward_pass(page: Page, client: Client):
    page.open("layers=3,2&seed=7&optimizer=adam")
    for _ in range(5):
        page.el("step").click()
    if SHOTS:  # train a little, so the picture shows a boundary
        page.el("play-pause").click()
        wait(lambda: page.loss("test") < 0.3, timeout=60, what="some training")
        page.el("play-pause").click()
        wait(lambda: "play" in page.el("play-pause").text, what="paused")
    page.el("inspect-index").clear()
    page.el("inspect-index").send_keys("3")
    page.el("inspect-run").click()
    wait(lambda: page.el("inspect-step").text.startswith("step 1 of"), what="the trace")
    total = int(page.el("inspect-step").text.split(" of ")[1].split()[0])
    assert "(forward pass)" in page.el("inspect-step").text
    while "(forward pass)" in page.el("inspect-step").text:
        page.el("inspect-next").click()
    assert page.el("inspect-current").text.startswith("L̄ = 1")
    page.el("inspect-next").click()
    page.el("inspect-prev").click()
    assert page.el("inspect-current").text.startswith("L̄ = 1")
    seen = [page.el("inspect-current").text]
    while not seen[-1].startswith("z̄⁽²⁾") and len(seen) < total:
        page.el("inspect-next").click()
        seen.append(page.el("inspect-current").text)
    assert seen[-1].startswith("z̄⁽²⁾ = h̄⁽²⁾ · (1 − h⁽²⁾²)"), seen
    assert page.el("badge-1-0").text.startswith("z̄ ")  # the error signal shown on the unit
    if SHOTS:
        page.d.set_window_size(1400, 1300)
        page.d.execute_script("window.scrollTo(0, 0)")
        page.shot("playground-backward.png")
        page.d.set_window_size(1400, 1000)
    page.el("inspect-all").click()
    lines = page.d.find_elements(page.By.CSS_SELECTOR, '[data-testid="inspect-lines"] li')
    assert len(lines) == total
    assert lines[-1].text.startswith("b̄⁽")


@pytest.mark.skipif(not SHOTS,
                    reason="draws the docs' picture; set CHAINRULE_PLAYGROUND_SCREENSHOTS=DIR")
def test_screenshot_spiral_3_classes(page: Page):
    page.open("dataset=spiral&classes=3&points=1000&ratio=70&noise=0&batch=10&seed=1"
              "&features=x1,x2,sin(x1),sin(x2)&layers=8,8,8&activation=tanh&optimizer=adam"
              "&lr=0.01&loss=cross-entropy")
    page.el("play-pause").click()
    wait(lambda: page.loss("train") < 0.1, timeout=300, what="spiral training")
    page.el("play-pause").click()
    page.shot("playground-spiral3.png")


def test_hover_and_edit_a_weight(page: Page, client: Client):
    from selenium.webdriver.common.action_chains import ActionChains

    page.open("layers=2")
    link = page.el("link-1-0-1")
    ActionChains(page.d).move_to_element(link).perform()
    wait(lambda: "W⁽²⁾[1,2] = " in page.d.find_element(page.By.ID, "tooltip").text,
         what="the weight's tooltip")
    ActionChains(page.d).click().perform()  # where the mouse is: on the link
    wait(lambda: page.el("weight-editor").is_displayed(), what="the editor")
    page.el("weight-input").clear()
    page.el("weight-input").send_keys("1.5")
    page.el("weight-set").click()
    wait(lambda: client.get(f"/api/session/{page.sid()}/state")[1]["weights"][1]["W"][0][1]
         == 1.5, what="the weight set on the server")
    wait(lambda: not page.el("weight-editor").is_displayed(), what="the editor closed")
