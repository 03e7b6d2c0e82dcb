"""The canonical flows are data: each one complete, consistent, and linked where it says it is."""

from __future__ import annotations

import re

import pytest

from valetkey.inspector.catalog import CATALOG, catalog_json
from valetkey.inspector.labels import TITLES
from valetkey.inspector.spec import FlowSpec

SEED_SECTIONS = [
    "What problem does this solve?",
    "Why PKCE?",
    "Things to notice in the flow",
    "Common pitfalls",
]
LINK = re.compile(r"\]\(learn:([a-z_:]+)\)")


def texts(spec: FlowSpec) -> list[str]:
    found = [s.explain for s in spec.steps] + [s.off_explain for s in spec.steps]
    for section in spec.sections:
        for _kind, items in section.blocks:
            found.extend(items)
    return found


def test_pkce_is_the_seeds_eleven_steps_on_five_lanes_with_its_four_sections() -> None:
    pkce = CATALOG["pkce"]
    assert len(pkce.steps) == 11
    assert pkce.lanes == ("user", "browser", "client", "authorization_server", "resource_server")
    assert [s.title for s in pkce.sections] == SEED_SECTIONS
    first = pkce.steps[0]
    assert (first.source, first.target, first.title) == ("user", "client", "Clicks “Log in”")
    assert "code_challenge = BASE64URL(SHA-256(code_verifier))" in first.explain
    channels = [s.channel for s in pkce.steps]
    assert channels[:7] == ["front"] * 7 and channels[7:] == ["back"] * 4
    assert [s.skippable for s in pkce.steps[3:5]] == ["sign-in remembered", "consent remembered"]


def test_the_pkce_toggle_rewrites_the_steps_into_the_confidential_client_variant() -> None:
    pkce, conf = CATALOG["pkce"], CATALOG["confidential"]
    assert pkce.toggle == conf.toggle == ("PKCE", "pkce", "confidential")
    assert len(conf.steps) == 11 and [s.title for s in conf.sections] == SEED_SECTIONS
    joined = " ".join(s.title + s.explain for s in conf.steps)
    assert "code_verifier" not in joined
    assert (
        "no code_challenge" in conf.steps[1].title and "code_challenge" not in conf.steps[0].explain
    )
    assert "client_secret" in conf.steps[7].title and "client_secret" in conf.steps[7].explain
    why = " ".join(" ".join(items) for _k, items in conf.sections[1].blocks)
    assert "injection" in why and "cannot keep a secret" in why  # why it is weaker
    changed = [i + 1 for i, (a, b) in enumerate(zip(pkce.steps, conf.steps, strict=True)) if a != b]
    assert changed == [1, 2, 6, 8, 9]


def test_the_pkce_flow_points_to_openid_connect() -> None:
    pkce = CATALOG["pkce"]
    assert "oidc" in LINK.findall(" ".join(texts(pkce)))
    assert pkce.related[0][0] == "oidc"
    oidc = CATALOG["oidc"]
    words = " ".join(texts(oidc))
    assert all(w in words for w in ("nonce", "ID token", "userinfo", "at_hash"))
    assert len(oidc.sections) == 4


@pytest.mark.parametrize("spec", [s for s in CATALOG.values() if s.learn], ids=lambda s: s.id)
def test_every_learn_flow_is_complete(spec: FlowSpec) -> None:
    assert spec.sections and spec.summary and spec.complete_on
    for step in spec.steps:
        assert step.source in spec.lanes and step.target in spec.lanes, step.title
        assert step.explain.strip(), step.title


@pytest.mark.parametrize("spec", list(CATALOG.values()), ids=lambda s: s.id)
def test_patterns_name_events_with_a_label_and_links_name_flows(spec: FlowSpec) -> None:
    for step in spec.steps:
        for pattern in (*step.events, *step.subs):
            assert pattern.partition("?")[0] in TITLES, (spec.id, pattern)
        if step.answers:
            assert spec.steps.index(step) >= step.answers
    for target in LINK.findall(" ".join(texts(spec))):
        assert target in CATALOG and CATALOG[target].learn, (spec.id, target)


@pytest.mark.parametrize("spec", [s for s in CATALOG.values() if s.defence], ids=lambda s: s.id)
def test_attacks_have_an_attacker_lane_and_end_with_their_outcome(spec: FlowSpec) -> None:
    assert spec.lanes[0] == "attacker" and not spec.learn
    assert spec.steps[-1].events == ("attack.finished",)
    assert spec.defence in spec.steps[-1].title
    assert any("attacker" in (s.source, s.target) for s in spec.steps)


def test_the_page_gets_the_catalogue_without_matching_patterns() -> None:
    served = {f["id"]: f for f in catalog_json()}
    assert served.keys() == CATALOG.keys()
    pkce = served["pkce"]
    assert [s["number"] for s in pkce["steps"]] == list(range(1, 12))
    assert pkce["lanes"][0] == ["user", "User"] and pkce["toggle"] == [
        "PKCE",
        "pkce",
        "confidential",
    ]
    assert "events" not in pkce["steps"][0]
