"""A refresh sends only what changed: the browser redraws nothing it already shows."""

from __future__ import annotations

from dash import html, no_update

from console.figures import empty_figure
from console.unchanged import changed_only


def test_the_first_refresh_sends_everything() -> None:
    values = {"figure": empty_figure("a"), "message": None, "table": html.P("x")}

    sent, shown = changed_only(values, None)

    assert sent == values
    assert set(shown) == {"figure", "message", "table"}


def test_a_refresh_with_the_same_values_sends_nothing() -> None:
    _, shown = changed_only({"figure": empty_figure("a"), "message": None}, None)

    sent, again = changed_only({"figure": empty_figure("a"), "message": None}, shown)

    assert sent == {"figure": no_update, "message": no_update}
    assert again is no_update  # the page's digests stay as they are


def test_only_the_changed_value_is_sent_and_remembered() -> None:
    _, shown = changed_only({"figure": empty_figure("a"), "table": html.P("x")}, None)

    sent, after = changed_only({"figure": empty_figure("b"), "table": html.P("x")}, shown)

    assert sent["table"] is no_update
    assert sent["figure"].layout.title.text == "b"
    assert after["table"] == shown["table"] and after["figure"] != shown["figure"]


def test_a_value_left_as_it_is_keeps_its_digest() -> None:
    _, shown = changed_only({"figure": empty_figure("a"), "message": html.P("worker away")}, None)

    sent, after = changed_only({"figure": no_update, "message": None}, shown)

    assert sent == {"figure": no_update, "message": None}  # the banner goes away
    assert after["figure"] == shown["figure"]
    _, cleared = changed_only({"figure": empty_figure("a"), "message": None}, after)
    assert cleared is no_update  # nothing changed since
