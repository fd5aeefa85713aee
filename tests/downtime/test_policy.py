from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from downtime.errors import ScopeRefused
from downtime.model import Draft
from downtime.policy import Actor, ScopePolicy, glob_within, scope_policy_from_node
from downtime.store import DowntimeStore
from rexmon.errors import ConfigError, InvalidMetricName
from rexmon.yamlconf import parse_yaml
from tests.downtime.conftest import NOW, Clock


@pytest.mark.parametrize(
    ("inner", "outer"),
    [
        ("host.node01.*", "host.node01.*"),
        ("host.node01.cpu.user", "host.node01.*"),
        ("host.node01.cpu.*", "host.node01.*"),
        ("host.node01.*", "host.*"),
        ("host.node0[1-3].*", "host.node0?.*"),
        ("host.node01_?.*", "host.node01_*"),
        ("host.node01.*.user", "host.*"),
        ("anything.at.all", "*"),
        ("*", "*"),
        ("host.node01.[!x]", "host.node01.?"),
    ],
)
def test_a_narrower_scope_lies_within_a_glob(inner: str, outer: str) -> None:
    assert glob_within(inner, outer)


@pytest.mark.parametrize(
    ("inner", "outer"),
    [
        ("host.*", "host.node01.*"),
        ("host.node0?.*", "host.node01.*"),
        ("*", "host.*"),
        ("host.node01*", "host.node01.*"),  # also host.node010.x
        ("host.node0[1-9].*", "host.node0[1-3].*"),
        ("host.node01.*", "host.node02.*"),
        ("hostx.node01.cpu", "host.*"),
        ("host.node01.?", "host.node01.[!x]"),
    ],
)
def test_a_wider_or_other_scope_does_not(inner: str, outer: str) -> None:
    assert not glob_within(inner, outer)


POLICY = ScopePolicy(
    users={"alice": ("host.node0*",)},
    groups={"storage": ("service.dcache.*", "host.pool*")},
)


def test_the_store_refuses_a_scope_outside_the_actor_s_globs(engine: Engine, clock: Clock) -> None:
    store = DowntimeStore(engine, policy=POLICY, clock=clock)
    store.migrate()
    draft = Draft(("host.node01.*", "host.pool03.*"), NOW, NOW + 60, "disk swap")
    with pytest.raises(ScopeRefused) as caught:
        store.add(draft, Actor("alice"))
    assert caught.value.scope == "host.pool03.*"
    assert "host.node0*" in caught.value.reason
    added = store.add(draft, Actor("alice", ("storage",)))
    with pytest.raises(ScopeRefused, match="no scopes are allowed"):
        store.add(draft, Actor("mallory"))
    # nobody may widen, change or cancel a downtime reaching outside their globs
    with pytest.raises(ScopeRefused):
        store.edit(added.id, Actor("alice", ("storage",)), scopes=("host.*",))
    with pytest.raises(ScopeRefused):
        store.cancel(added.id, Actor("bob", ("storage",)))
    assert store.get(added.id).cancelled is None


def test_a_policy_is_read_from_yaml() -> None:
    node = parse_yaml(
        "users:\n  alice: host.node0*\ngroups:\n  storage: [service.dcache.*, host.pool*]\n"
    )
    policy = scope_policy_from_node(node)
    assert policy.allowed(Actor("alice", ("storage",))) == (
        "host.node0*",
        "service.dcache.*",
        "host.pool*",
    )


def test_a_bad_glob_in_a_policy_names_its_line() -> None:
    node = parse_yaml("users:\n  alice:\n    - host.node0*\n    - host/etc\n", "etc/rexmon.yaml")
    with pytest.raises(ConfigError, match=r"etc/rexmon.yaml:4: users.alice\[1\]"):
        scope_policy_from_node(node)


NODE01 = ScopePolicy(users={"nina": ("host.node01.*",)})


@pytest.mark.parametrize(
    "scope",
    [
        "[z-a!]" * 12 + "*",
        "[]-[!]" * 12 + "*",
        "[!]" * 12 + "*",
        "host.node01[.]x.*",
        "host.node01.[]]",
        "host.node01.[a-]x]",
    ],
)
def test_fnmatch_tricks_cannot_widen_an_operator_s_scope(scope: str) -> None:
    with pytest.raises((InvalidMetricName, ScopeRefused)):
        NODE01.check(Actor("nina"), scope)


def test_a_scope_within_the_union_of_an_operator_s_globs_is_allowed() -> None:
    both = ScopePolicy(users={"nina": ("host.node0[0-4].*", "host.node0[5-9].*")})
    both.check(Actor("nina"), "host.node0[0-9].cpu")
    with pytest.raises(ScopeRefused):
        both.check(Actor("nina"), "host.node0?.cpu")
