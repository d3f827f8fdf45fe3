"""The console's pages, in menu order: one module name per line.

Adding a page: write ``pages/<name>.py`` defining ``page = Page(...)`` (see the
package docstring) and add its name here.
"""

import importlib

from ..web import Page

PAGE_MODULES = [
    "partners",
    "outbox",
    "sessions",
    "locations",
    "commands",
    "tokens",
    "tariffs",
    "cdrs",
    "charts",
]


def pages() -> list[Page]:
    return [importlib.import_module(f"{__name__}.{name}").page for name in PAGE_MODULES]
