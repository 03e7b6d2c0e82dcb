"""Layout checks for the browser tests: every label of the diagram is readable in full."""

from __future__ import annotations

from typing import Any

# For every visible arrow label and lane name: is its text cut (it overflows its own box) or
# outside the diagram? Measured by the browser, so fonts and wrapping are the real ones.
_MEASURE = """() => {
  const diagram = document.querySelector('#diagram').getBoundingClientRect();
  return [...document.querySelectorAll('#steps .label, #lanes .lane')]
    .filter((e) => e.offsetParent !== null)
    .map((e) => {
      const r = e.getBoundingClientRect();
      return {
        text: e.textContent,
        cut: e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1,
        outside: r.left < diagram.left - 1 || r.right > diagram.right + 1,
        ellipsis: getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth,
      };
    });
}"""


def assert_labels_readable(page: Any) -> None:
    labels = page.evaluate(_MEASURE)
    assert labels, "no labels drawn"
    bad = [x for x in labels if x["cut"] or x["outside"] or x["ellipsis"]]
    assert not bad, bad
