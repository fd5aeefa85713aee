"""The daemon environment's fixtures (``env``, ``inbox``) for every alarmd test."""

from tests.alarmd.daemon_env import env, inbox  # noqa: F401
