"""The one door to the apprise library: import it and load its plugins quietly, once.

apprise loads its plugins on first use; on Python 3.11 its e-mail plugin imports the
standard ``imghdr`` module (for PGP support), which emits
``DeprecationWarning: 'imghdr' is deprecated and slated for removal in Python 3.13``.
That warning is about apprise's dependency, not about rexmon, and pytest's
``filterwarnings = error`` would turn it into a failure, so exactly that warning is
ignored while the plugins load; every other warning still surfaces. After the first
load the modules are cached by Python and nothing warns again.
"""

from __future__ import annotations

import functools
import warnings
from types import ModuleType

IGNORED_WARNING = r"'imghdr' is deprecated"


@functools.cache  # like ``import`` itself: the plugins load once per process
def load_apprise() -> ModuleType:
    """The ``apprise`` module, with its notification plugins loaded."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=IGNORED_WARNING, category=DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost/")  # loads every plugin module
    return apprise
