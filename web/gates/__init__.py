"""Readiness gates: "is it ready?" for the systems that wait on the site (docs/gates.md)."""
