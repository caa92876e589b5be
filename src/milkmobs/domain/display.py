"""How results show in a notebook or a REPL: short text, an HTML card or table, a pandas DataFrame.

What is shown follows what the JSON carries: a field kept out of the JSON (an embedding, a mob's
centroid) is never shown. Every text that came from a user is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas

#: A list longer than this shows its first items and how many more there are.
SHOWN_ITEMS = 3
#: A text longer than this is cut (with …) in text reprs.
SHOWN_CHARS = 60
_THUMBNAIL_PX = 96

T = TypeVar("T")


class _Literal:
    """Shows as its text, without quotes (``<5 more>`` rather than ``'<5 more>'``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def short(value: Any) -> Any:
    """``value`` as a text repr should show it: long texts cut, long lists elided, enums as their value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return value[: SHOWN_CHARS - 1] + "…"
    if isinstance(value, list) and len(value) > SHOWN_ITEMS:
        head = ", ".join(repr(short(v)) for v in value[:SHOWN_ITEMS])
        return _Literal(f"[{head}, … {len(value) - SHOWN_ITEMS} more]")
    if isinstance(value, list):
        return [short(v) for v in value]
    return value


class Displayable(BaseModel):
    """Short ``repr``, ``_repr_html_`` for notebooks. ``repr_fields``: the fields the text repr shows
    (empty: every field the JSON carries)."""

    repr_fields: ClassVar[tuple[str, ...]] = ()

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        fields = type(self).model_fields
        names = self.repr_fields or tuple(n for n, f in fields.items() if not f.exclude and f.repr)
        for name in names:
            yield name, short(getattr(self, name))

    def _repr_html_(self) -> str:
        return html_card(self)


# --- HTML --------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _plain(value: Any) -> str:
    """A JSON value as compact escaped text (nested objects as ``key: value`` pairs)."""
    if isinstance(value, Mapping):
        return "; ".join(f"{_e(k)}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return _e(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th style='text-align:left'>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def thumbnail_html(url: str | None, title: str, size: int = _THUMBNAIL_PX) -> str:
    if not url:
        return "<span style='color:#888'>no thumbnail</span>"
    return f"<img src='{_e(url)}' alt='thumbnail of {_e(title)}' width='{size}' loading='lazy'>"


def _hashtags(tags: Sequence[str]) -> str:
    return " ".join("#" + t for t in tags)


def _get(model: Any, name: str) -> Any:
    return getattr(model, name, None)


def _breakdown_html(validation: Any) -> str:
    b = validation.breakdown
    rows = [("visual", _score(b.visual)), ("audio", _score(b.audio)), ("on-screen text", _score(b.ocr))]
    rows.append(("hashtags", _score(b.hashtags)))
    verdict = "passed" if validation.passed else "did not pass"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in validation.reasons)
    return (
        f"<b>score {_score(validation.score)}</b> ({verdict})"
        + _table(("signal", "score"), rows)
        + (f"<ul>{reasons}</ul>" if reasons else "")
    )


def _video_html(video: Any) -> str:
    title = video.title or "untitled"
    mob = _get(video, "mob_name") or video.mob_id or "in no mob"
    picture = thumbnail_html(_get(video, "thumbnail_url"), title, 160)
    parts = [
        f"<div style='display:flex;gap:12px'><div>{picture}</div><div>",
        f"<b>{_e(title)}</b><br>status <b>{_e(video.status.value)}</b> · mob {_e(mob)}<br>",
        f"<small>video {_e(video.video_id)} · user {_e(video.user_id)}",
        f" · {_e(_hashtags(video.hashtags))}</small>" if video.hashtags else "</small>",
    ]
    if video.validation is not None:
        parts.append(_breakdown_html(video.validation))
    if video.failure is not None:
        parts.append(f"<br>failed at <b>{_e(video.failure.step)}</b>: {_e(video.failure.error)}")
    return "".join(parts) + "</div></div>"


def html_card(model: BaseModel) -> str:
    """One result as HTML: a video as a card (thumbnail, status, score breakdown, mob), anything
    else as its fields (what the JSON carries), a collection as a table."""
    if _get(model, "video_id") is not None and _get(model, "media_key") is not None:
        return _video_html(model)
    for name in ("results", "videos", "items"):
        items = _get(model, name)
        if isinstance(items, list):
            others = {k: v for k, v in model.model_dump(mode="json").items() if k != name and v is not None}
            header = _table(("field", "value"), [(_e(k), _plain(v)) for k, v in others.items()]) if others else ""
            nested = _get(model, "mob")
            return (html_card(nested) if isinstance(nested, BaseModel) else header) + html_rows(items)
    data = model.model_dump(mode="json")
    return _table(("field", "value"), [(_e(k), _plain(v)) for k, v in data.items()])


def html_rows(items: Sequence[Any]) -> str:
    """A list of results as one HTML table (videos with their thumbnails)."""
    if not items:
        return "<i>nothing</i>"
    first = items[0]
    if _get(first, "video") is not None and _get(first, "score") is not None:  # similar videos
        return _table(
            ("", "title", "cosine", "status", "mob", "video"),
            [(*_video_cells(hit.video)[:2], f"{hit.score:.3f}", *_video_cells(hit.video)[2:]) for hit in items],
        )
    if _get(first, "media_key") is not None:
        return _table(("", "title", "status", "score", "mob", "video"), [_video_cells(v) for v in items])
    if _get(first, "mob_id") is not None and _get(first, "video_count") is not None:
        return _table(
            ("mob", "videos", "hashtags", "id"),
            [(_e(m.name), str(m.video_count), _e(_hashtags(m.example_hashtags)), _e(m.mob_id)) for m in items],
        )
    rows = [item.model_dump(mode="json") if isinstance(item, BaseModel) else {"value": item} for item in items]
    headers = list(rows[0])
    return _table(headers, [[_plain(row.get(h)) for h in headers] for row in rows])


def _video_cells(video: Any) -> list[str]:
    title = video.title or "untitled"
    score = video.validation.score if video.validation is not None else None
    mob = _get(video, "mob_name") or video.mob_id or "–"
    cells = [thumbnail_html(_get(video, "thumbnail_url"), title), f"<b>{_e(title)}</b>", _e(video.status.value)]
    return [*cells, _score(score), _e(mob), f"<small>{_e(video.video_id)}</small>"]


# --- DataFrames ----------------------------------------------------------------------


def dataframe(items: Sequence[Any]) -> pandas.DataFrame:
    """One row per result, nested fields flattened (``validation.score``), no vectors.

    Needs pandas (not a dependency of milkmobs): ImportError naming it otherwise.
    """
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_dataframe() needs pandas: pip install pandas") from exc
    rows = [_row(item) for item in items]
    return pandas.json_normalize(rows, sep=".") if rows else pandas.DataFrame()


def _json(item: Any) -> Any:
    """An item in its camelCase JSON form (what ``DomainModel.to_json_dict`` gives)."""
    return item.model_dump(mode="json", by_alias=True) if isinstance(item, BaseModel) else item


def _row(item: Any) -> dict[str, Any]:
    return item.model_dump(mode="python", by_alias=False) if isinstance(item, BaseModel) else {"value": item}


class ResultList(list[T]):
    """A plain list of results that also shows as a table and turns into a DataFrame."""

    def to_dataframe(self) -> pandas.DataFrame:
        return dataframe(self)

    def to_json_dict(self) -> dict[str, object]:
        """``{"items": [...]}``, each item in its camelCase JSON form."""
        return {"items": [_json(item) for item in self]}

    def _repr_html_(self) -> str:
        return html_rows(self)
