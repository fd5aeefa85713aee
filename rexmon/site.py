"""The ``site:`` section of ``etc/rexmon.yaml``, shared by every program.

```yaml
site:
  name: Example grid site          # shown in page titles and notifications
  timezone: Europe/Zurich          # IANA name; people read and write times in it
  base_url: https://rexmon.example.org   # links in notifications point here
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rexmon.timespec import site_zone
from rexmon.yamlconf import Node

SITE_KEYS = frozenset({"name", "timezone", "base_url"})


@dataclass(frozen=True)
class SiteConfig:
    name: str = "rexmon"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    base_url: str = "http://127.0.0.1:8080"


def site_config_from_node(node: Node | None) -> SiteConfig:
    """Parse the ``site:`` section; absent keys keep their defaults."""
    if node is None:
        return SiteConfig()
    node.mapping(SITE_KEYS)
    defaults = SiteConfig()
    name, zone, url = node.get("name"), node.get("timezone"), node.get("base_url")
    return SiteConfig(
        name=name.as_str() if name else defaults.name,
        timezone=zone.parse(site_zone) if zone else defaults.timezone,
        base_url=url.as_str().rstrip("/") if url else defaults.base_url,
    )
