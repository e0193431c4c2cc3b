"""Issue 11, item 7 in the browser: the Content-Security-Policy is sent, and no page of the built front end breaks it.

Every page a person visits (account forms, the app's routes with the editor
drawing a reference layer and the monitor holding its websocket, the API
docs, the admin) is loaded in headless Chromium with a listener for
``securitypolicyviolation`` events and console reports; none may appear.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.conftest import sign_in
from tests.system.helpers import launch, tiny_overrides

pytestmark = pytest.mark.browser

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _violations(page: Page, console: list[str]) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []")) + console


def test_no_page_violates_the_content_security_policy(lab_server, page: Page) -> None:
    base = lab_server.base_url
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(LISTEN)
    seen: list[str] = []

    def visit(path: str, ready: Callable[[], None] | None = None) -> None:
        response = page.goto(base + path)
        assert response is not None
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, (path, policy)
        if ready is not None:
            ready()
        page.wait_for_load_state("networkidle")
        seen.append(path)
        assert _violations(page, console) == [], (path, _violations(page, console))

    visit("/accounts/signup/")
    visit("/accounts/login/")
    user = lab_server.create_user(lab_server.unique_name("csp"), "a-long-enough-password")
    sign_in(page, base, user.username, user.password)
    http = lab_server.client(user)
    search = launch(http, name="csp", overrides=tiny_overrides(budget=2, parallel=1))
    candidate = http.get(f"/api/searches/{search['id']}/candidates").json()["items"][0]
    http.close()

    visit("/", lambda: expect(page.locator("#root")).not_to_be_empty())
    visit("/layers/", lambda: expect(page.locator("#root")).not_to_be_empty())
    visit("/editor/", lambda: expect(page.locator(".react-flow").first).to_be_visible())
    visit("/searches/", lambda: expect(page.locator("#root")).not_to_be_empty())
    visit("/searches/new/", lambda: expect(page.locator("form").first).to_be_visible())
    visit(f"/searches/{search['id']}/",
          lambda: expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "connected"))
    visit(f"/candidates/{candidate['id']}/", lambda: expect(page.locator(".react-flow").first).to_be_visible())
    visit("/api/docs", lambda: expect(page.locator(".swagger-ui").first).to_be_visible())
    visit("/admin/login/")
    assert len(seen) == 11 and page.page_errors == []  # type: ignore[attr-defined]
