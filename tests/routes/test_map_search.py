"""The address search box on /map, driven in real headless Chromium on the Helsinki extract."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from camdensity import testing
from routes.test_map import CHROMIUM, ROOT, browser_page


@pytest.fixture(scope="module")
def helsinki_server(helsinki: str) -> Iterator[str]:
    """A real uvicorn serving the session's Helsinki store."""
    port = testing.free_port()
    command = [sys.executable, "-m", "uvicorn", "camdensity.service.main:app", "--host",
               "127.0.0.1", "--port", str(port), "--no-access-log"]
    with testing.serving(command, port, {**os.environ, "DATABASE_URL": helsinki}, ROOT) as base:
        yield base


def _wait_until(page: Any, expression: str, timeout_s: float) -> None:
    """Poll a JS expression with page.evaluate (DevTools evaluation, which the page's CSP allows,
    unlike wait_for_function's in-page eval) until it is true."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def _search(page: Any, text: str) -> str:
    """Type `text` in the box, submit, wait for the answer; the HTTP status it got."""
    page.fill("#search-input", text)
    page.click("#search button[type=submit]")
    _wait_until(page, "document.getElementById('search-result').dataset.status !== undefined"
                " && !document.getElementById('search-result').textContent"
                ".includes('searching')", 30)
    return page.eval_on_selector("#search-result", "el => el.dataset.status")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_search_box_shows_the_answer_on_the_map(helsinki_server: str) -> None:
    typed = "yrjonkatu 30 helsinki"
    expected = httpx.get(f"{helsinki_server}/coverage",
                         params={"address": typed, "radius": 200}).json()
    with browser_page() as page:
        page.goto(f"{helsinki_server}/map?lat=60.17&lon=24.94&zoom=13")
        page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
        assert _search(page, typed) == "200"
        # The answer where the person looks: the match, the counts, the sites within reach.
        assert page.inner_text("#search-matched") == expected["location"]["matched"]
        assert page.inner_text("#search-total") == str(expected["cameras"]["total"])
        panel = page.inner_text("#search-result")
        assert f"{expected['sites_total']} sensitive site" in panel
        for site in expected["sites"][:3]:
            assert (site["name"] or site["category"]) in panel
        # The map moved there: the dot sits on the matched point, the disc is 200 m across.
        page.wait_for_timeout(500)
        at = page.evaluate(
            "Promise.resolve(deckInstance).then((d) => d.getViewports()[0].project("
            f"[{expected['location']['lon']}, {expected['location']['lat']}]))")
        dot = page.eval_on_selector("#search-dot", "el => [el.hidden, el.offsetLeft, el.offsetTop]")
        assert dot[0] is False
        assert dot[1] == pytest.approx(at[0], abs=2) and dot[2] == pytest.approx(at[1], abs=2)
        lon, lat = expected["location"]["lon"], expected["location"]["lat"]
        east = 1000 / (111_319.49 * math.cos(math.radians(lat)))  # 1 km east, on the sphere
        px_per_km = page.evaluate(
            "Promise.resolve(deckInstance).then((d) => d.getViewports()[0].project("
            f"[{lon + east}, {lat}])[0])") - at[0]
        width = page.eval_on_selector("#search-disc", "el => el.getBoundingClientRect().width")
        assert (width - 4) / px_per_km == pytest.approx(0.4, rel=0.05)  # 2 px border each side

        # Nothing matches: the suggestions, and one click answers it.
        assert _search(page, "Mannerheimvägen 1 Stockholm") == "404"
        assert page.eval_on_selector("#search-dot", "el => el.hidden") is True
        picks = page.query_selector_all("#search-result button.pick")
        assert picks, page.inner_text("#search-result")
        label = picks[0].inner_text()
        picks[0].click()
        _wait_until(page, "document.getElementById('search-result').dataset.status === '200'"
                    " && !!document.getElementById('search-matched')", 30)
        assert page.inner_text("#search-matched") == label
        # The query never went into the page's address.
        assert "Mannerheim" not in page.url and "yrjonkatu" not in page.url
