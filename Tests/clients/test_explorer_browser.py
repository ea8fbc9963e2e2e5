"""The explorer page in a real browser: Debian's headless Chromium driven by selenium. A denied call made with
Python requests appears in the live journal with its reason, its trace opens from its row (token, role,
permission), and the what-if form answers; screenshots go to .build/test-output/ (and, with
IOTC_MOCK_UPDATE_SCREENSHOT=1, to docs/explorer.png for the README)."""
import os
import pathlib
import shutil

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import REPO, start_mock

OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
OUTPUT = REPO / ".build" / "test-output"

pytestmark = pytest.mark.skipif(not CHROMIUM or not DRIVER, reason="needs Debian's chromium and chromium-driver (make test installs them)")


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,950",
                     "--disable-gpu", "--no-first-run", "--disable-background-networking"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def test_a_denied_call_appears_with_its_reason_trace_and_what_if(browser):
    mock = start_mock("--in-memory", "--quiet")
    try:
        admin = {"Authorization": mock.token}
        made = requests.put(f"{mock.api}/apiTokens/walkthrough-operator?api-version=2022-07-31",
                            json={"roles": [{"role": OPERATOR}]}, headers=admin, timeout=10)
        operator = made.json()["token"]
        wait = WebDriverWait(browser, 15)
        # A browser at / gets a page that links to the explorer.
        browser.get(mock.url + "/")
        wait.until(EC.element_to_be_clickable((By.ID, "explorer-link"))).click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#app option")))
        # The denied call, made with requests while the page is open: it appears without reloading.
        assert requests.get(f"{mock.api}/users?api-version=2022-07-31", headers={"Authorization": operator}, timeout=10).status_code == 403
        row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#entries tbody tr.row-denied")))
        assert "API token 'walkthrough-operator'" in row.text
        assert "Operator on the application lacks it" in row.text and "users.view" in row.text
        row.click()
        card = wait.until(EC.visibility_of_element_located((By.ID, "trace-card")))
        assert "walkthrough-operator" in browser.find_element(By.ID, "trace-credential").text
        assert browser.find_element(By.ID, "trace-permission").text == "users.view"
        assignments = browser.find_element(By.ID, "trace-assignments").text
        assert "Operator" in assignments and "lacks users.view" in assignments
        OUTPUT.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(OUTPUT / "explorer-journal.png"))
        if os.environ.get("IOTC_MOCK_UPDATE_SCREENSHOT") == "1":
            browser.save_screenshot(str(REPO / "docs" / "explorer.png"))
        assert "denied" in card.text
        # What-if: the same question without making the call.
        browser.find_element(By.ID, "tab-whatif").click()
        Select(browser.find_element(By.ID, "w-kind")).select_by_value("tokenId")
        caller = browser.find_element(By.ID, "w-caller")
        caller.clear()
        caller.send_keys("walkthrough-operator")
        path = browser.find_element(By.ID, "w-path")
        path.clear()
        path.send_keys("/api/users")
        before = requests.get(f"{mock.url}/_mock/journal", timeout=10).json()["lastSequence"]
        browser.find_element(By.ID, "w-submit").click()
        answer = wait.until(EC.visibility_of_element_located((By.ID, "answer-card")))
        assert "denied" in answer.text and "Users_List needs the permission 'users.view'" in answer.text
        assert requests.get(f"{mock.url}/_mock/journal", timeout=10).json()["lastSequence"] == before, "what-if sent no request"
        browser.find_element(By.ID, "w-all").click()
        matrix = wait.until(EC.visibility_of_element_located((By.ID, "principal-matrix")))
        assert "Devices_List" in matrix.text
        browser.save_screenshot(str(OUTPUT / "explorer-what-if.png"))
        # The roles × operations matrix, custom roles included.
        browser.find_element(By.ID, "tab-matrix").click()
        roles = wait.until(EC.visibility_of_element_located((By.ID, "role-matrix")))
        wait.until(lambda _: "Operator" in roles.text)
        browser.save_screenshot(str(OUTPUT / "explorer-matrix.png"))
        # The page made its calls under the control plane's browser rules: nothing was refused.
        assert not browser.find_element(By.ID, "error").is_displayed()
    finally:
        mock.process.terminate()
        mock.process.wait(timeout=10)


def test_other_clients_still_get_the_iot_central_404_at_the_root(session_mock):
    answer = requests.get(session_mock.url + "/", timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "NotFound"
    page = requests.get(session_mock.url + "/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "/_mock/explorer" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    # The explorer is a control-plane page: refused to a rebound host name like any control call.
    refused = requests.get(session_mock.url + "/_mock/explorer", headers={"Host": "rebound.evil.example"}, timeout=10)
    assert refused.status_code == 403


def test_with_a_control_key_the_page_loads_and_works_once_the_key_is_typed(browser):
    mock = start_mock("--in-memory", "--quiet", "--control-key", "s3cret")
    try:
        # The page itself holds no data: a browser, which cannot send the key when it navigates, gets it.
        assert requests.get(mock.url + "/_mock/explorer", timeout=10).status_code == 200
        assert requests.get(mock.url + "/_mock/journal", timeout=10).status_code == 401
        requests.get(f"{mock.api}/users?api-version=2022-07-31", headers={"Authorization": "SharedAccessSignature nope"}, timeout=10)
        wait = WebDriverWait(browser, 15)
        browser.get(mock.url + "/_mock/explorer")
        key = wait.until(EC.visibility_of_element_located((By.ID, "key")))
        key.send_keys("s3cret")
        browser.find_element(By.ID, "key-save").click()
        row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#entries tbody tr.row-unauthenticated")))
        assert "401" in row.text
    finally:
        mock.process.terminate()
        mock.process.wait(timeout=10)


def test_rows_of_another_view_never_mix_in(browser):
    """Switching application while requests pour into the first: the second's table shows only its own rows."""
    mock = start_mock("--in-memory", "--quiet")
    try:
        other = requests.post(f"{mock.url}/_mock/apps", json={"subdomain": "other"}, timeout=10).json()
        wait = WebDriverWait(browser, 15)
        browser.get(mock.url + "/_mock/explorer")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#app option[value='%s']" % other["id"])))
        for _ in range(30):
            requests.get(f"{mock.api}/roles?api-version=2022-07-31", headers={"Authorization": mock.token}, timeout=10)
        Select(browser.find_element(By.ID, "app")).select_by_value(other["id"])
        for _ in range(30):
            requests.get(f"{mock.api}/roles?api-version=2022-07-31", headers={"Authorization": mock.token}, timeout=10)
        import time
        time.sleep(2.5)
        assert browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr") == []
        # And the page opened on the other application's own host name selects it.
        browser.get(mock.url.replace("127.0.0.1", "other.localhost") + "/_mock/explorer")
        wait.until(lambda driver: driver.find_element(By.ID, "app").get_attribute("value") == other["id"])
    finally:
        mock.process.terminate()
        mock.process.wait(timeout=10)
