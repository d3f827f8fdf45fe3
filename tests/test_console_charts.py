"""The console's SVG bar charts: well-formed, scaled, accessible, escaped, bounded."""

import xml.etree.ElementTree as ET

from ocpi.console.charts import MAX_BARS, Series, bars

NS = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]


def test_bars_are_scaled_to_a_round_axis_and_say_their_values():
    svg = bars(["Mon", "Tue"], [Series("delivered", [40, 80], "good"),
                                Series("failed", [0, 5], "bad")],
               title="Messages", unit="msgs")
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.find(f"{NS}title").text == "Messages"
    assert "delivered 120 msgs, failed 5 msgs" in root.find(f"{NS}desc").text
    drawn = _bars(svg)
    assert len(drawn) == 4
    heights = [float(r.get("height")) for r in drawn]
    # the axis tops at 100: 80 is four fifths of the plot, 40 two fifths
    assert abs(heights[2] / heights[0] - 2) < 0.01 and heights[1] == 0.0
    assert drawn[2].find(f"{NS}title").text == "Tue, delivered: 80 msgs"
    assert "good" in drawn[0].get("class") and "bad" in drawn[1].get("class")
    assert "style=" not in svg  # the CSP allows no inline style


def test_hostile_labels_are_text_and_the_size_is_bounded():
    evil = '<script>alert(1)</script>"'
    svg = bars([evil] * 5000, [Series(evil, [1.5] * 5000)], title=evil)
    assert "<script>" not in svg
    assert len(_bars(svg)) == MAX_BARS
    assert f"the first {MAX_BARS} of 5000 shown" in svg
    assert ET.fromstring(svg) is not None


def test_nothing_to_show_still_draws_an_axis():
    svg = bars([], [], title="Sessions per day")
    assert "nothing" in svg and ET.fromstring(svg) is not None
    svg = bars(["a"], [Series("kWh", [0])], title="kWh")
    assert [float(r.get("height")) for r in _bars(svg)] == [0.0]
