"""axe-core (vendored: `fixtures/axe.min.js`, MPL-2.0, from `npm pack axe-core@4`) run inside a page.

The source is evaluated through the DevTools protocol rather than added as a `<script>`: the console's
Content-Security-Policy rightly refuses inline scripts, and the test must not weaken it to look.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).parent / "fixtures" / "axe.min.js"
BLOCKING = ("serious", "critical")


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (all rules axe runs by default: WCAG A/AA and best practice)."""
    page.wait_for_load_state()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def blocking(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [violation for violation in found if violation.get("impact") in BLOCKING]


def describe(found: list[dict[str, Any]], nodes_each: int = 5) -> str:
    """One paragraph per violation: rule, impact, what it means, and where (CSS targets and axe's summary)."""
    lines: list[str] = []
    for violation in found:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:nodes_each]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary}")
            lines.append(f"       {str(node.get('html', ''))[:200]}")
        if len(violation["nodes"]) > nodes_each:
            lines.append(f"    ... and {len(violation['nodes']) - nodes_each} more elements")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page) -> None:
    """Fail listing every serious or critical violation axe finds on the page."""
    found = blocking(violations(page))
    assert not found, f"axe found {len(found)} serious or critical violation(s) on {page.url}:\n{describe(found)}"
