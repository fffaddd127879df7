"""The maintainers' documents live in the repository and stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from shopify_app.models.automation import RunState
from shopify_app.models.campaign import CampaignState, MessageState
from shopify_app.models.contact import ConsentState
from shopify_app.models.webhook_event import WebhookStatus

ROOT = Path(__file__).resolve().parent.parent


def test_every_local_link_in_the_readme_and_docs_resolves() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for document in documents:
        for target in re.findall(r"\]\(([^)#\s]+)\)", document.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (document.parent / target).exists(), f"{document.name} links to missing {target}"
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_document_points_outside_the_repository_for_the_design() -> None:
    for path in [ROOT / "README.md", *ROOT.glob("shopify_app/**/*.py"), *ROOT.glob("jobs/*.py")]:
        assert "DESIGN.md" not in path.read_text(encoding="utf-8"), path


def test_the_state_machines_name_every_state_the_code_has() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    sections = {
        "**Campaign**": CampaignState,
        "**Message**": MessageState,
        "**Contact consent**": ConsentState,
        "**Automation run**": RunState,
        "**Webhook event**": WebhookStatus,
    }
    for heading, states in sections.items():
        start = text.index(heading)
        following = [text.find(h, start + 1) for h in sections if text.find(h, start + 1) > start]
        section = text[start : min([*following, text.index("## Sending pipeline")])]
        missing = [state.value for state in states if not re.search(rf"\b{state.value}\b", section)]
        assert not missing, f"{heading} does not mention {missing}"
