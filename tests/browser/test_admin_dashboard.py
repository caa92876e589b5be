"""The admin dashboard in a real Chromium against a real ``milkmobs serve`` (local backend, real mp4 files).

The module's server holds three campaign videos (one of them is deleted through the page), one
rejected, one failed and thirty submitted but never uploaded (enough for a second page of videos).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from tests.browser.support import check_navigation, check_not_found
from tests.browser.uploads import final_record, upload_video
from tests.e2e._serve_process import ServerProcess, make_mp4, serve

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser-admin")]
USER = "ada"
WAITING = 30


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """{'server', 'token', 'milk1', 'milk2', 'doomed', 'plain', 'broken'} → the server and the final records."""
    clips = tmp_path_factory.mktemp("clips")
    with serve(tmp_path_factory.mktemp("data"), env={"MILKMOBS_LOCAL__WORKERS": "2"}) as running:
        url = running.url

        def put(name: str, title: str, hashtags: list[str], **clip: Any) -> str:
            data = make_mp4(clips / f"{name}.mp4", **clip).read_bytes()
            return upload_video(url, data, title=title, hashtags=hashtags, user=USER)

        # The first campaign video is analysed before the next arrive, so they join its mob.
        first = final_record(
            url, put("milk1", "Drinking milk on a skateboard", ["gotmilk"], text="GOT MILK", seed=1, seconds=3)
        )
        ids = {
            "milk2": put(
                "milk2", "Drinking milk at the beach", ["gotmilk", "beach"], text="GOT MILK", seed=2, seconds=3
            ),
            "doomed": put("doomed", "Drinking milk to delete", ["gotmilk"], text="GOT MILK", seed=3, seconds=3),
            "plain": put("plain", "Colour bars", ["cats"], seed=4),
        }
        broken = upload_video(
            url, b"\x00not a video at all" * 500, title="Broken file", hashtags=["gotmilk"], user=USER
        )
        records = {"milk1": first, **{name: final_record(url, vid) for name, vid in ids.items()}}
        records["broken"] = final_record(url, broken)
        for i in range(WAITING):
            answer = requests.post(
                f"{url}/videos/submit", json={"userId": "waiting", "title": f"Waiting {i}"}, timeout=10
            )
            assert answer.status_code == 201, answer.text
        assert [records[n]["status"] for n in ("milk1", "milk2", "doomed")] == ["validated"] * 3, records
        assert records["plain"]["status"] == "rejected" and records["broken"]["status"] == "failed", records
        yield {"server": running, "token": running.admin_token, **records}


def _signed_in(open_tab: Any, site: Any, route: str = "") -> Any:
    """A tab signed in through the sign-in form, then opened at ``route`` (e.g. ``#/videos``)."""
    server: ServerProcess = site["server"]
    tab = open_tab(server.url)
    page = tab.goto("/admin/")
    page.get_by_label("Admin token").fill(site["token"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    if route:
        page.goto(f"{server.url}/admin/{route}")
    return tab


def test_sign_in_keeps_the_token_for_the_tab_session_only(site: Any, open_tab: Any) -> None:
    server: ServerProcess = site["server"]
    tab = open_tab(server.url)
    page = tab.goto("/admin/")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_role("navigation").count() == 0  # nothing to see before signing in
    tab.check("admin-sign-in")

    page.get_by_label("Admin token").fill(site["token"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    check_navigation(page, ("Overview", "Videos", "Mobs", "Usage"), current="Overview")
    assert page.evaluate("() => sessionStorage.getItem('milkmobs.admin.token')") == site["token"]
    assert page.evaluate("() => JSON.stringify(localStorage)").find(site["token"]) == -1
    page.reload()
    page.get_by_role("heading", name="Overview").wait_for()  # the same tab keeps its session

    other = open_tab(server.url).goto("/admin/")  # a new browser session starts signed out
    other.get_by_role("heading", name="Sign in").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Admin token").wait_for()
    assert page.evaluate("() => sessionStorage.getItem('milkmobs.admin.token')") is None


def test_a_wrong_token_is_refused_with_the_api_s_reason(site: Any, open_tab: Any) -> None:
    page = open_tab(site["server"].url).goto("/admin/")
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "HTTP 403" in alert.inner_text()
    assert page.evaluate("() => sessionStorage.getItem('milkmobs.admin.token')") is None


def test_overview_totals(site: Any, open_tab: Any) -> None:
    tab = _signed_in(open_tab, site)
    page = tab.page
    tiles = page.locator(".tile")
    tiles.first.wait_for()
    values = {t.locator("dt").inner_text(): t.locator("dd").inner_text() for t in tiles.all()}
    stats = requests.get(f"{site['server'].url}/admin/stats", headers={"Authorization": f"Bearer {site['token']}"},
                         timeout=10).json()  # fmt: skip
    assert values["Validated"] == str(stats["byStatus"]["validated"])
    assert values["Rejected"] == "1" and values["Failed"] == "1" and values["Processing"] == "0"
    assert values["Active mobs"] == str(stats["activeMobs"]) != "0"
    assert values["Average score"] == f"{round(stats['averageValidationScore'] * 100)}%"
    assert values["Videos per hour"] == str(stats["videosLastHour"]) and stats["videosLastHour"] >= WAITING
    tab.check("admin-overview")


def test_videos_status_filter_and_cursor_paging(site: Any, open_tab: Any) -> None:
    tab = _signed_in(open_tab, site, "#/videos")
    page = tab.page
    rows = page.locator("table.videos tbody tr")
    rows.first.wait_for()
    status = page.get_by_label("Status")
    status.select_option("failed")
    page.wait_for_function("() => document.querySelectorAll('table.videos tbody tr').length === 1")
    assert "Broken file" in rows.first.inner_text() and "failed" in rows.first.inner_text()
    status.select_option("rejected")
    page.get_by_role("link", name="Colour bars").wait_for()
    assert rows.count() == 1
    status.select_option("pending_upload")
    page.get_by_role("link", name="Waiting 29").wait_for()  # newest first
    assert rows.count() == 25
    page.get_by_role("button", name="Next page").click()
    page.get_by_role("link", name="Waiting 4").wait_for()
    assert rows.count() == WAITING - 25 and page.get_by_role("button", name="Next page").is_disabled()
    page.get_by_role("button", name="Previous page").click()
    page.get_by_role("link", name="Waiting 29").wait_for()
    assert "status=pending_upload" in page.url
    tab.check("admin-videos")


def test_a_failed_video_shows_its_steps_with_the_error(site: Any, open_tab: Any) -> None:
    video = site["broken"]
    tab = _signed_in(open_tab, site, f"#/videos/{video['videoId']}")
    page = tab.page
    page.get_by_role("heading", name="Broken file").wait_for()
    timeline = page.locator(".timeline li")
    timeline.first.wait_for()
    failed = page.locator(".timeline li", has=page.locator(".status-FAILED"))
    assert failed.count() >= 1 and video["failure"]["error"][:40] in failed.first.inner_text()
    tab.check("admin-video-failed")


def test_delete_a_video_after_confirming(site: Any, open_tab: Any) -> None:
    video = site["doomed"]
    server: ServerProcess = site["server"]
    tab = _signed_in(open_tab, site, f"#/videos/{video['videoId']}")
    page = tab.page
    page.get_by_role("heading", name="Drinking milk to delete").wait_for()
    steps = page.locator(".timeline li")
    steps.first.wait_for()
    texts = steps.all_inner_texts()
    assert len(texts) >= 4 and all("SUCCEEDED" in t or "SKIPPED" in t for t in texts), texts
    assert any(re.search(r"\d+(\.\d+)? (ms|s)\b", t) for t in texts), texts  # durations
    assert page.get_by_text("Campaign score").count() == 1
    assert page.locator("video").get_attribute("src")
    tab.check("admin-video")

    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog", name="Delete “Drinking milk to delete”?")
    dialog.wait_for()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert requests.get(f"{server.url}/videos/{video['videoId']}", timeout=10).status_code == 200

    page.get_by_role("button", name="Delete", exact=True).click()
    dialog.get_by_role("button", name="Delete video").click()
    page.get_by_text("Deleted “Drinking milk to delete”.").wait_for()
    assert requests.get(f"{server.url}/videos/{video['videoId']}", timeout=10).status_code == 404
    assert requests.get(video["videoUrl"], timeout=10).status_code == 404  # the file went too
    mob = requests.get(f"{server.url}/mobs/{video['mobId']}", timeout=10).json()["mob"]
    assert video["videoId"] not in [v["videoId"] for v in requests.get(
        f"{server.url}/mobs/{mob['mobId']}", timeout=10).json()["videos"]]  # fmt: skip
    assert page.get_by_role("link", name="Drinking milk to delete").count() == 0


def test_mobs_sizes_and_the_map(site: Any, open_tab: Any) -> None:
    server: ServerProcess = site["server"]
    tab = _signed_in(open_tab, site, "#/mobs")
    page = tab.page
    drawing = page.get_by_role("img", name=re.compile(r"^Map of \d+ videos? in \d+ mobs?"))
    drawing.wait_for()
    check_navigation(page, ("Overview", "Videos", "Mobs", "Usage"), current="Mobs")
    mobs = requests.get(f"{server.url}/mobs", timeout=10).json()["mobs"]
    answer = requests.get(f"{server.url}/admin/mobs/map", headers={"Authorization": f"Bearer {site['token']}"},
                          timeout=10).json()  # fmt: skip
    circles = drawing.locator("circle")
    assert circles.count() == len(answer["points"]) >= 2
    fills: dict[str, set[str]] = {}
    for circle, point in zip(circles.all(), answer["points"], strict=True):
        fills.setdefault(point["mobId"], set()).add(str(circle.get_attribute("fill")))
    assert all(len(colours) == 1 for colours in fills.values())  # one colour per mob
    assert len({next(iter(c)) for c in fills.values()}) == len(fills)  # different mobs, different colours
    for mob in mobs:
        row = page.locator("tr", has=page.get_by_text(mob["name"], exact=True))
        assert str(mob["videoCount"]) in row.inner_text()

    page.get_by_role("button", name="Re-cluster").click()
    done = page.get_by_role("status").filter(has_text="Re-clustered")
    done.wait_for()
    validated = len(answer["points"])
    assert re.search(
        rf"Re-clustered {validated} videos? into \d+ mobs?: \d+ kept, \d+ new, \d+ removed", done.inner_text()
    )
    after = requests.get(f"{server.url}/mobs", timeout=10).json()["mobs"]
    assert sum(m["videoCount"] for m in after) == validated  # every validated video is in one mob
    points = "n => document.querySelectorAll('.mob-map svg[role=img] circle').length === n"
    page.wait_for_function(points, arg=validated)  # the map was drawn again
    tab.check("admin-mobs")
    check_not_found(page, server.url, "/admin/", home="overview")


def test_usage_chart_and_table_over_a_range(site: Any, open_tab: Any) -> None:
    server: ServerProcess = site["server"]
    tab = _signed_in(open_tab, site, "#/usage")
    page = tab.page
    page.get_by_label("Range").select_option("1h")
    chart = page.locator(".usage-chart .uplot canvas")
    chart.wait_for()
    report = requests.get(f"{server.url}/admin/usage-stats", params={"range": "1h"},
                          headers={"Authorization": f"Bearer {site['token']}"}, timeout=10).json()  # fmt: skip
    assert report["models"]
    # The local analyzer's models have no price: their cost is unknown (null), not 0
    assert all(m["estimatedCostUsd"] is None for m in report["models"]) and report["totalEstimatedCostUsd"] is None
    legend = page.locator(".u-legend").inner_text()
    for model in report["models"]:
        assert model["modelType"] in legend
        row = page.locator("tbody tr", has=page.get_by_text(model["modelId"], exact=True))
        assert row.locator("td").nth(2).inner_text() == str(model["invocations"])
        assert row.locator("td").nth(4).inner_text() == "not priced"
    assert page.locator("tfoot td").last.inner_text() == "not priced"
    assert "$" not in page.locator(".table-wrap").inner_text()
    # the canvas has something drawn on it (lines, not only a blank area)
    drawn = page.evaluate(
        """() => { const c = document.querySelector('.usage-chart canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert drawn > 500, drawn
    page.get_by_label("Chart").select_option("estimatedCostUsd")
    page.get_by_role("heading", name="Estimated cost (USD)").wait_for()
    assert "only the Bedrock models are priced" in page.locator(".not-priced").inner_text()
    assert page.locator(".usage-chart").count() == 0  # no chart of nothing (an axis of zeros)
    assert "range=1h" in page.url and "chart=estimatedCostUsd" in page.url
    tab.check("admin-usage")


def test_hosted_ui_sign_in_with_code_and_pkce(site: Any, open_tab: Any) -> None:
    """config.json with a Cognito domain: the dashboard goes to the hosted UI and trades the code for
    tokens with its PKCE verifier. A stand-in for Cognito answers both endpoints; its id token is the
    server's admin token, so the real API accepts the calls that follow."""
    server: ServerProcess = site["server"]
    hosted = "https://admin-auth.example.test"
    tab = open_tab(server.url)
    page = tab.page
    seen: dict[str, Any] = {}

    page.route(
        f"{server.url}/config.json",
        lambda route: route.fulfill(
            json={"apiUrl": server.url, "cognitoDomain": hosted, "cognitoClientId": "dashboard-client"}
        ),
    )

    def authorize(route: Any) -> None:
        query = dict(parse_qsl(urlsplit(route.request.url).query))
        seen["authorize"] = query
        back = html.escape(f"{query['redirect_uri']}?code=the-code&state={query['state']}")
        # The hosted UI sends the browser back with a new navigation (a redirect would escape page.route).
        route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><title>Signed in</title><meta http-equiv="refresh" content="0;url={back}">',
        )

    def token(route: Any) -> None:
        form = dict(parse_qsl(route.request.post_data or ""))
        seen["token"] = form
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
        good = challenge.decode() == seen["authorize"]["code_challenge"] and form["code"] == "the-code"
        route.fulfill(
            status=200 if good else 400,
            headers={"Access-Control-Allow-Origin": server.url},
            json={"id_token": site["token"], "access_token": "a", "expires_in": 3600, "token_type": "Bearer"}
            if good else {"error": "invalid_grant"},
        )  # fmt: skip

    page.route(f"{hosted}/oauth2/authorize*", authorize)
    page.route(f"{hosted}/oauth2/token", token)
    tab.goto("/admin/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    page.locator(".tile").first.wait_for()

    asked = seen["authorize"]
    assert asked["response_type"] == "code" and asked["client_id"] == "dashboard-client"
    assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"] == f"{server.url}/admin/"
    assert set(asked["scope"].split()) == {"openid", "email"} and len(asked["state"]) >= 16
    assert (
        seen["token"]["grant_type"] == "authorization_code" and seen["token"]["redirect_uri"] == asked["redirect_uri"]
    )
    assert "code=" not in page.url  # the single-use code is not left in the address bar
    assert page.evaluate("() => sessionStorage.getItem('milkmobs.admin.token')") == site["token"]
    assert page.get_by_label("Admin token").count() == 0  # no token field when the hosted UI signs in
    tab.watch.assert_clean()
