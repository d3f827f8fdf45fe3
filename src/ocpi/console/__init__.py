"""The operator console: the node's state in a browser, at ``/console``.

Served by the node itself (``routes`` is added by ``ocpi.app.get_application``
when the built-in store is used), behind a login with the operator token; see
docs/console.md for what each page shows and the security model.

How it is built
  ``web.py``       the frame: ``Page``, ``Ctx``, login/logout, error pages, assets
  ``security.py``  the signed session cookie, CSRF tokens, same-origin check, headers
  ``forms.py``     bounded reading of query parameters and forms
  ``fmt.py``       times, ages, durations and kWh as template filters
  ``charts.py``    bar charts as inline SVG (``charts.bars(labels, [Series(...)], title=)``;
                   pass the result to the template, show the numbers in a table too)
  ``pages/``       one module per page; ``pages/__init__.py`` lists them in menu order
  ``templates/``   Jinja2, autoescaped; ``base.html`` the layout, ``macros.html`` the
                   reusable bits (tables, action forms with their CSRF token, live regions)
  ``static/``      CSS, a few lines of our own JS, and htmx (vendored, with its licence)

How to add a page (e.g. ``tokens``)
  1. ``pages/tokens.py``::

         from ..web import Ctx, Page
         page = Page("tokens", "Tokens")     # URL /console/tokens, menu label

         @page.view("")                      # GET /console/tokens
         async def index(c: Ctx) -> Response:
             q = c.text("q", max_length=36)  # bounded input; a bad value is a 400 page
             return c.render("tokens.html", rows=...)

         @page.view("{uid}")                 # GET /console/tokens/<uid>: c.request.path_params
         @page.view("live")                  # a fragment for a live region (macros.live)

         @page.action("block")               # POST /console/tokens/block, CSRF checked
         async def block(c: Ctx) -> Response:
             uid = c.text("uid")             # the posted form's fields
             ...
             return c.done("blocked")        # 303 back to the page, the message shown once
                                             # (c.failed(...) for an error message)

  2. ``templates/tokens.html``: ``{% extends "base.html" %}``, ``{% block main %}``;
     ``{% import "macros.html" as m %}`` for ``m.table``, ``m.action``, ``m.live``.
  3. One line, ``"tokens",``, in ``pages/__init__.py``'s ``PAGE_MODULES``.
  4. A test in ``tests/test_console_<name>.py`` (``tests/console_helpers.py`` logs in).

  Views read through the store's and services' own functions (outbox/admin.py,
  peers/registry.py, ...), never SQL of their own; an expected failure is
  ``raise ConsoleError(status, message)`` or ``web.not_found(what)``.
"""

from starlette.routing import BaseRoute

from ..node import Node


def routes(node: Node, operator_token: str | None) -> list[BaseRoute]:
    """The console's routes, for the node's router (before its RouteTable is built)."""
    from .pages import pages
    from .web import Console

    return Console(node, pages(), operator_token).routes()
