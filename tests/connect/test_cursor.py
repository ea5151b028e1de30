"""The connector's cursor file: round trip, absence, corruption, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.connect.cursor import CursorFile


def test_cursor_file__saves_and_loads_the_position(tmp_path: Path) -> None:
    cursor = CursorFile(tmp_path / "zendesk.state")

    assert cursor.load() is None
    cursor.save(1715679900)
    cursor.save(1715684405)

    assert CursorFile(tmp_path / "zendesk.state").load() == 1715684405
    assert [p.name for p in tmp_path.iterdir()] == ["zendesk.state"]  # no temporary file left


def test_cursor_file__without_a_path_keeps_nothing(tmp_path: Path) -> None:
    cursor = CursorFile(None)

    cursor.save(1715679900)

    assert cursor.load() is None


@pytest.mark.parametrize("text", ['{"end_time": "soon"}', '{"end_time": true}', "[]", "{}"])
def test_cursor_file__a_file_without_an_integer_end_time_is_an_error(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "zendesk.state"
    path.write_text(text)

    with pytest.raises(ValueError, match="no integer end_time"):
        CursorFile(path).load()
