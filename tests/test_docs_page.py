"""Slow layer: the served /docs page in a real browser with its network cut.

Debian's chromium, driven through its chromedriver by Selenium, opens /docs of bakes served by
gunicorn on 127.0.0.1. The browser cannot reach anything else: every request goes to a proxy
on a port nothing listens on, 127.0.0.1 alone bypasses it, and no name resolves. A control in
the same browser proves the cut (Swagger UI from the CDN the page used to load it from fails to
load, a file from the service loads); then every request the page made is on 127.0.0.1, every
operation of /openapi.json is listed, and "Try it out" on POST /v1/predict answers 200 with
predictions. With auth=api_key the page asks for the key first and loads nothing before it.

UPDATE_DOCS_IMAGES=1 also saves the default bake's page to docs/images/swagger-ui.png.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from bakery import TEMPLATE
from combos import COMBOS, DEFAULT, Combo
from http_client import request, wait_for
from served import Installed, Server, free_port

pytestmark = pytest.mark.slow

#: The api_key bake test_served_with_api_keys.py serves (the same bake and venv).
KEYED = next(combo for combo in COMBOS if combo.api_key and combo.framework == "sklearn")
KEY = "docs-page-key-0123456789abcdef"
#: Where the page loaded Swagger UI from before the service served it: the control.
CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
#: Seconds for any one thing to happen in the browser.
WAIT = 30
WINDOW = (1280, 900)
IMAGE = TEMPLATE / "docs" / "images" / "swagger-ui.png"
#: Adds a script tag for a URL and says whether it loaded (script tags are not subject to CORS,
#: so a failure is the network's).
LOAD_SCRIPT = """
const [url, done] = arguments;
const script = document.createElement("script");
script.onload = () => done("loaded");
script.onerror = () => done("failed");
script.src = url;
document.head.appendChild(script);
"""


@pytest.fixture(scope="module")
def serve(
    install: Callable[[Combo], Installed], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Server]]:
    """Serve a bake (installed once per session) with its example model; stopped at the end."""
    started: list[Server] = []

    def start(combo: Combo, **settings: str) -> Server:
        installed = install(combo)
        store = tmp_path_factory.mktemp("store") / "models"
        installed.cli(store, "train-example")
        log = tmp_path_factory.mktemp("server") / "stdout.jsonl"
        started.append(installed.serve(store, log, **settings))
        wait_for(started[-1].port, "/readyz", 200)
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def default_server(serve: Callable[..., Server]) -> Server:
    return serve(DEFAULT)


@pytest.fixture(scope="module")
def keyed_server(serve: Callable[..., Server]) -> Server:
    return serve(KEYED, API_KEYS=KEY)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless chromium whose only reachable address is 127.0.0.1; quit at the end."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium, "needs Debian's chromium (scripts/test.sh installs it)"
    assert chromedriver, "needs Debian's chromium-driver (scripts/test.sh installs it)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # chromium will not start its sandbox as root
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        # The cut. Every request goes through a proxy on a closed port but those to 127.0.0.1
        # (given explicitly: "<-loopback>" would send 127.0.0.1 to the dead proxy as well),
        # and no name resolves, should anything go around the proxy.
        f"--proxy-server=http://127.0.0.1:{free_port()}",
        "--proxy-bypass-list=127.0.0.1",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    # Every request the pages make, from the DevTools protocol's Network events.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # A driver of our own: Selenium Manager never looks for (or downloads) one.
    service = Service(executable_path=chromedriver, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def network_events(driver: WebDriver) -> list[tuple[str, dict[str, Any]]]:
    """The Network events since the last call, as (method, params)."""
    messages = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return [(m["method"], m["params"]) for m in messages if m["method"].startswith("Network.")]


def requests_made(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each request sent (its url, method and headers)."""
    return [params["request"] for method, params in events if method == "Network.requestWillBeSent"]


def prove_the_network_is_cut(driver: WebDriver, server: Server) -> None:
    """The control: on a page of the service's (not /docs), Swagger UI's script from the CDN
    fails to load, at the dead proxy, while the service's copy of it loads the same way."""
    driver.get(f"http://127.0.0.1:{server.port}/livez")
    network_events(driver)  # what the browser did before: its start page, the control page
    local = f"http://127.0.0.1:{server.port}/docs/swagger-ui-bundle.js"
    loads = {url: driver.execute_async_script(LOAD_SCRIPT, url) for url in (local, CDN_SCRIPT)}
    events = network_events(driver)
    sent = {params["requestId"]: params["request"]["url"] for method, params in events
            if method == "Network.requestWillBeSent"}  # fmt: skip
    failures = {sent.get(params["requestId"]): params["errorText"] for method, params in events
                if method == "Network.loadingFailed"}  # fmt: skip
    assert loads == {local: "loaded", CDN_SCRIPT: "failed"}, failures
    assert failures == {CDN_SCRIPT: "net::ERR_PROXY_CONNECTION_FAILED"}


def assert_all_on_loopback(events: list[tuple[str, dict[str, Any]]], server: Server) -> None:
    """Every request the page made went to the service, and none failed."""
    here = f"http://127.0.0.1:{server.port}/"
    # data: URLs are the icons inlined in swagger-ui.css: bytes of the stylesheet, no request.
    urls = [sent["url"] for sent in requests_made(events) if not sent["url"].startswith("data:")]
    assert urls
    elsewhere = [url for url in urls if not url.startswith(here)]
    assert elsewhere == [], f"requests not to {here}: {elsewhere}"
    failed = [params for method, params in events if method == "Network.loadingFailed"]
    assert failed == []
    for name in ("swagger-ui.css", "swagger-ui-bundle.js"):
        assert f"{here}docs/{name}" in urls


def wait_until(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT).until(condition, f"{what} within {WAIT}s")


def listed_operations(driver: WebDriver) -> set[tuple[str, str]]:
    """(method, path) of every operation the page lists."""
    blocks = wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"), "opblocks")
    return {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks
    }


def operations_of(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation of an OpenAPI document."""
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def example_body(document: dict[str, Any]) -> dict[str, Any]:
    """The body "Try it out" starts from: one record, the document's example of it (the served
    version's warm-up record)."""
    return {"instances": [document["components"]["schemas"]["Instance"]["example"]]}


def try_out_predict(driver: WebDriver, document: dict[str, Any]) -> WebElement:
    """Open POST /v1/predict, "Try it out", check the body Swagger UI offers is the
    document's example, "Execute" it; the response it shows."""
    block = driver.find_element(
        By.XPATH, "//div[contains(@class, 'opblock-post')][.//*[@data-path='/v1/predict']]"
    )
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait_until(driver, lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn"), "try out")
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait_until(driver, lambda _: block.find_element(By.CSS_SELECTOR, ".execute"), "execute")
    editor = block.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
    assert json.loads(editor.get_attribute("value") or "") == example_body(document)
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    return wait_until(
        driver,
        lambda _: block.find_element(By.CSS_SELECTOR, ".live-responses-table .response"),
        "the live response",
    )


def assert_predictions(response: WebElement) -> dict[str, Any]:
    status = response.find_element(By.CSS_SELECTOR, ".response-col_status").text
    body = response.find_element(By.CSS_SELECTOR, ".response-col_description pre").text
    assert status == "200", body
    answer = json.loads(body)
    assert answer["predictions"]
    assert answer["model"]["version"] == "1"
    return answer


def save_screenshot(driver: WebDriver, response: WebElement, path: Path) -> None:
    """The page at WINDOW's size, with the operation's answer in view below its request."""
    width, height = WINDOW
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", response)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path))


def test_the_docs_page_works_offline(
    browser: WebDriver, default_server: Server, tmp_path: Path
) -> None:
    prove_the_network_is_cut(browser, default_server)
    browser.get(f"http://127.0.0.1:{default_server.port}/docs")
    document = request(default_server.port, "GET", "/openapi.json").json()
    assert listed_operations(browser) == operations_of(document)
    assert ("POST", "/v1/predict") in listed_operations(browser)
    response = try_out_predict(browser, document)
    assert_predictions(response)
    save_screenshot(browser, response, tmp_path / "swagger-ui.png")
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        save_screenshot(browser, response, IMAGE)
    assert_all_on_loopback(network_events(browser), default_server)


def test_with_api_keys_the_page_asks_for_the_key_first(
    browser: WebDriver, keyed_server: Server
) -> None:
    prove_the_network_is_cut(browser, keyed_server)
    browser.get(f"http://127.0.0.1:{keyed_server.port}/docs")
    wait_until(browser, lambda d: d.execute_script("return typeof SwaggerUIBundle"), "the bundle")
    field = browser.find_element(By.ID, "api-key")
    assert field.is_displayed()
    assert field.get_attribute("type") == "password"
    # Before the key nothing loads: no document asked for, no operation shown.
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock") == []
    before = network_events(browser)
    assert not [sent for sent in requests_made(before) if "/openapi.json" in sent["url"]]
    # A wrong key is refused on the page, which still shows nothing.
    field.send_keys("wrong-key-0123456789abcdef")
    browser.find_element(By.ID, "api-key-submit").click()
    problem = browser.find_element(By.ID, "api-key-problem")
    wait_until(browser, lambda _: problem.text, "the refusal")
    assert problem.text == "That key is not valid."
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock") == []
    # With the key: the operations, and "Try it out" sends it.
    field.clear()
    field.send_keys(KEY)
    browser.find_element(By.ID, "api-key-submit").click()
    document = request(keyed_server.port, "GET", "/openapi.json", headers={"X-API-Key": KEY})
    assert listed_operations(browser) == operations_of(document.json())
    assert not browser.find_element(By.ID, "api-key-form").is_displayed()
    assert_predictions(try_out_predict(browser, document.json()))
    after = network_events(browser)
    assert_all_on_loopback([*before, *after], keyed_server)
    predict = [sent for sent in requests_made(after) if sent["url"].endswith("/v1/predict")]
    assert len(predict) == 1
    assert predict[0]["method"] == "POST"
    assert predict[0]["headers"]["X-API-Key"] == KEY
