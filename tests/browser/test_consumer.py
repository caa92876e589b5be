"""The consumer app in a real Chromium against a real ``milkmobs serve`` (local backend, real mp4 files).

The module's server starts with a few videos uploaded over HTTP (two campaign videos that form a mob,
one without the campaign's marks, one broken file); the upload test then goes through the page itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.browser.support import check_navigation, check_not_found
from tests.browser.uploads import final_record, upload_video
from tests.e2e._serve_process import ServerProcess, make_mp4, serve

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser-consumer")]
USER = "bea"
JS_BUDGET_BYTES = 120 * 1024


def _current_mob(url: str, video_id: str) -> dict[str, Any]:
    """The video's mob as the API says now (a later upload may have moved it)."""
    mob_id = requests.get(f"{url}/videos/{video_id}", timeout=10).json()["mobId"]
    mob: dict[str, Any] = requests.get(f"{url}/mobs/{mob_id}", timeout=10).json()["mob"]
    return mob


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "milk1": make_mp4(folder / "milk1.mp4", text="GOT MILK", seed=1, seconds=4),
        "milk2": make_mp4(folder / "milk2.mp4", text="GOT MILK", seed=2, seconds=4),
        "milk3": make_mp4(folder / "milk3.mp4", text="GOT MILK", seed=3, seconds=3),
        "plain": make_mp4(folder / "plain.mp4", seed=4),
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, Path]) -> Any:
    """A running server and the videos it holds: {'server', 'milk1', 'milk2', 'plain', 'broken'} → records."""
    with serve(tmp_path_factory.mktemp("data"), env={"MILKMOBS_LOCAL__WORKERS": "2"}) as running:
        url = running.url
        # The first campaign video is analysed before the next arrives, so the second joins its mob.
        first = final_record(
            url,
            upload_video(
                url, clips["milk1"].read_bytes(), title="Drinking milk on a skateboard", hashtags=["gotmilk"], user=USER
            ),
        )
        ids = {
            "milk2": upload_video(
                url,
                clips["milk2"].read_bytes(),
                title="Drinking milk at the beach",
                hashtags=["gotmilk", "beach"],
                user=USER,
            ),
            "plain": upload_video(url, clips["plain"].read_bytes(), title="Colour bars", hashtags=["cats"], user=USER),
            "broken": upload_video(
                url, b"\x00not a video at all" * 500, title="Broken file", hashtags=["gotmilk"], user=USER
            ),
        }
        records = {"server": running, "milk1": first, **{name: final_record(url, vid) for name, vid in ids.items()}}
        assert records["milk1"]["status"] == records["milk2"]["status"] == "validated", records
        assert records["plain"]["status"] == "rejected" and records["broken"]["status"] == "failed", records
        yield records


def test_feed_shows_validated_videos_with_thumbnail_title_user_and_mob(site: Any, open_tab: Any) -> None:
    server: ServerProcess = site["server"]
    assert any(f"open {server.url}/ " in line for line in server.output), server.output  # serve says where
    tab = open_tab(server.url)
    page = tab.goto("/")
    cards = page.locator(".card")
    cards.first.wait_for()
    assert cards.count() == 2  # validated only: the rejected and failed ones are not in the feed
    newest = cards.nth(0)
    assert newest.locator(".title").inner_text() == "Drinking milk at the beach"  # newest first
    thumbnail = page.get_by_role("img", name="Drinking milk at the beach")
    thumbnail.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert newest.get_by_text(f"by {USER}").count() == 1
    mob = _current_mob(server.url, site["milk2"]["videoId"])
    mob_link = newest.locator("a[href^='#/mobs/']")
    assert mob_link.get_attribute("href") == f"#/mobs/{mob['mobId']}" and mob_link.inner_text() == mob["name"]
    check_navigation(page, ("Feed", "Mobs", "Upload", "My videos"), current="Feed")
    assert page.get_by_label("Search videos").count() == 1

    scripts = sum(tab.watch.scripts.values())
    print(f"\nfirst consumer page: {len(tab.watch.scripts)} JS files, {scripts / 1024:.1f} KB uncompressed")
    assert scripts <= JS_BUDGET_BYTES, tab.watch.scripts
    tab.check("feed")


def test_upload_through_the_page_to_its_final_status(site: Any, open_tab: Any, clips: dict[str, Path]) -> None:
    server: ServerProcess = site["server"]
    tab = open_tab(server.url)
    page = tab.goto("/")
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("Your name").fill("carla")
    page.get_by_label("Title").fill("Drinking milk in the park")
    page.get_by_label("Hashtags").fill("#GotMilk park")
    page.get_by_label("Video file").set_input_files(str(clips["milk3"]))
    page.get_by_role("button", name="Upload").click()

    progress = page.get_by_role("progressbar")
    progress.wait_for()
    page.wait_for_function("() => document.querySelector('[role=progressbar]').value === 100")
    status = page.get_by_text(re.compile("Final status"))
    status.wait_for(timeout=120_000)
    assert "validated" in status.inner_text()
    page.wait_for_function("() => !document.querySelector('.steps .status-RUNNING')")  # the last steps end too
    steps = page.locator(".steps li")
    assert steps.count() >= 4, steps.all_inner_texts()
    assert all("SUCCEEDED" in text or "SKIPPED" in text for text in steps.all_inner_texts())
    assert page.get_by_text("Campaign score").count() == 1
    assert page.get_by_text(re.compile(r"On-screen text")).count() == 1
    tab.check("upload-done")

    page.get_by_role("link", name=re.compile("Open “Drinking milk in the park”")).click()
    page.get_by_role("heading", name="Drinking milk in the park").wait_for()


def test_upload_form_says_what_is_missing(site: Any, open_tab: Any) -> None:
    tab = open_tab(site["server"].url)
    page = tab.goto("/#/upload")
    page.get_by_role("button", name="Upload").click()
    assert "Enter your name" in page.get_by_role("alert").inner_text()
    page.get_by_label("Your name").fill("dan")
    page.get_by_role("button", name="Upload").click()
    assert "Choose a video file" in page.get_by_role("alert").inner_text()
    tab.check("upload-form")


def test_video_page_plays_seeks_and_shows_analysis_and_similar_videos(site: Any, open_tab: Any) -> None:
    video = site["milk1"]
    tab = open_tab(site["server"].url)
    media_statuses: list[int] = []
    tab.page.on("response", lambda r: media_statuses.append(r.status) if "/media/vid_" in r.url else None)
    mob = _current_mob(site["server"].url, video["videoId"])
    page = tab.goto(f"/#/videos/{video['videoId']}")
    page.get_by_role("heading", name="Drinking milk on a skateboard").wait_for()
    player = page.locator("video")
    assert player.get_attribute("src").split("?")[0] == video["videoUrl"].split("?")[0]  # signed anew each read
    page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; await v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.3")
    page.evaluate(
        """() => new Promise(done => { const v = document.querySelector('video'); v.pause();
            v.addEventListener('seeked', done, {once: true}); v.currentTime = 3.2; })"""
    )
    assert page.evaluate("() => document.querySelector('video').currentTime") >= 3.0
    assert 206 in media_statuses, media_statuses  # the player read byte ranges

    assert page.get_by_text("Campaign score").count() == 1
    assert page.locator(f"a[href='#/mobs/{mob['mobId']}']").first.inner_text() == mob["name"]
    similar = page.get_by_role("region", name="Similar videos")
    similar.get_by_role("link", name="Drinking milk at the beach").first.wait_for()
    assert similar.get_by_role("link", name="Drinking milk on a skateboard").count() == 0  # never itself
    assert re.search(r"similarity -?\d\.\d\d", similar.inner_text())  # cosine, as the API ranks them
    tab.check("video")


def test_mobs_list_and_a_mob_page(site: Any, open_tab: Any) -> None:
    mob_name = _current_mob(site["server"].url, site["milk1"]["videoId"])["name"]
    tab = open_tab(site["server"].url)
    page = tab.goto("/#/mobs")
    link = page.get_by_role("link", name=mob_name)
    link.wait_for()
    assert page.get_by_text(re.compile(r"\b[23] videos\b")).count() >= 1
    tab.check("mobs")
    check_navigation(page, ("Feed", "Mobs", "Upload", "My videos"), current="Mobs")
    link.click()
    page.get_by_role("heading", name=mob_name).wait_for()
    page.get_by_role("link", name="Drinking milk on a skateboard").first.wait_for()
    assert page.get_by_role("link", name="Drinking milk at the beach").count() >= 1
    assert page.get_by_role("link", name="Colour bars").count() == 0
    tab.check("mob")


def test_my_videos_lists_every_status_and_why(site: Any, open_tab: Any) -> None:
    tab = open_tab(site["server"].url)
    page = tab.goto("/#/mine")
    page.get_by_label("Your name").fill(USER)
    page.get_by_role("button", name="Show my videos").click()
    page.get_by_role("link", name="Broken file").wait_for()
    cards = {
        title: page.locator(".card", has=page.get_by_role("link", name=title))
        for title in ("Drinking milk on a skateboard", "Colour bars", "Broken file")
    }
    assert "validated" in cards["Drinking milk on a skateboard"].inner_text()
    rejected = cards["Colour bars"].inner_text()
    assert "rejected" in rejected and "Rejected: score" in rejected
    failed = cards["Broken file"].inner_text()
    assert "failed" in failed and "Failed at step" in failed, failed
    tab.check("my-videos")


def test_search_box_finds_videos_by_their_on_screen_text(site: Any, open_tab: Any) -> None:
    tab = open_tab(site["server"].url)
    page = tab.goto("/")
    page.get_by_label("Search videos").fill("got milk")
    page.get_by_label("Search videos").press("Enter")
    page.get_by_role("heading", name=re.compile("Search")).wait_for()
    page.locator(".card .title", has_text="Drinking milk on a skateboard").wait_for()
    assert "#/search?q=got%20milk" in page.url
    tab.check("search")


def test_an_unknown_route_says_so(site: Any, open_tab: Any) -> None:
    page = open_tab(site["server"].url).goto("/")
    check_not_found(page, site["server"].url, "/", home="feed")


def test_a_route_changed_before_the_app_listens_is_shown(site: Any, open_tab: Any) -> None:
    """The hash moves as soon as the first render is in the document, before effects subscribe (a
    link followed as the page appears): the page of the new route is shown, not the old one."""
    tab = open_tab(site["server"].url)
    tab.page.add_init_script(
        """new MutationObserver((_, observer) => {
             if (!document.querySelector('nav')) return;
             observer.disconnect();
             location.hash = '#/no-such-page';
           }).observe(document, { childList: true, subtree: true });"""
    )
    tab.page.goto(site["server"].url + "/")
    tab.page.get_by_role("heading", name="Page not found").wait_for(timeout=10_000)
