"""The wall page, ``/wall``: the queues' headline numbers on an office TV, live.

The page is static (``stream/web``: HTML, CSS and a script, shipped as package data); its
script polls ``/api/summary`` and ``/api/staffing`` on the same origin and updates the
table in place, so the worker serves it without templating and the TV never reloads.

The response headers make the browser itself enforce what the page promises: a
Content-Security-Policy of ``default-src 'self'`` blocks anything from another origin (no
CDN, web font or image can sneak in, so the wall works on an office network without
internet access and tells no third party who is watching), and ``no-store`` keeps a TV
from showing a cached page of an older release after an upgrade.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import faust

# default-src 'self' covers scripts, styles, fetch (connect-src), images and fonts; it
# also forbids inline scripts and styles, which is why the page's CSS and JS are files.
# base-uri and form-action do not fall back to default-src, so they are closed
# explicitly. frame-ancestors is left open on purpose: a read-only page has nothing to
# click-jack, and TV dashboard rotators show pages in frames.
WALL_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'"

WALL_HEADERS = {
    "Content-Security-Policy": WALL_CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# URL path -> (file in stream/web, content type). The page links its assets with
# relative URLs ("wall/wall.css" from "/wall"), so the wall also works behind a reverse
# proxy that mounts the worker under a prefix.
WALL_ASSETS = {
    "/wall": ("wall.html", "text/html"),
    "/wall/wall.css": ("wall.css", "text/css"),
    "/wall/wall.js": ("wall.js", "text/javascript"),
}


def load_wall_assets() -> dict[str, tuple[str, str]]:
    """URL path -> (body, content type) of every wall file, read from the package.

    Read once, when the routes are registered: a wheel built without the package data
    fails at worker start rather than on the first TV that asks for the page.
    """
    web_files = resources.files("stream.web")
    return {
        path: (web_files.joinpath(name).read_text(encoding="utf-8"), content_type)
        for path, (name, content_type) in WALL_ASSETS.items()
    }


def register_wall(app: faust.App) -> None:
    """Add ``/wall`` and its assets to the app's web server."""
    for path, (body, content_type) in load_wall_assets().items():
        _add_page(app, path, body, content_type)


def _add_page(app: faust.App, path: str, body: str, content_type: str) -> None:
    """One static page; a function of its own so each handler closes over its own body."""

    async def page(web: Any, request: Any) -> Any:
        return web.text(body, content_type=content_type, headers=dict(WALL_HEADERS))

    # Faust names views after the handler; every page here has the same handler name.
    app.page(path, name=f"wall:{path}")(page)
