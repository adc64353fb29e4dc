"""The API's own documentation pages: /docs (Swagger UI) and /redoc (ReDoc) served from packaged assets, so both
work on a machine with no internet."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# The PyPI package fastapi-offline (MIT, pinned in pyproject.toml) ships Swagger UI's and ReDoc's standalone
# bundles (1.7.7: swagger-ui-dist 5.32.6, Apache-2.0; redoc 2.5.3, MIT) and FastAPI's favicon. We use only its
# files, not its FastAPI wrapper, so the app keeps its one constructor in api/app.py.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs/assets"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc with our copy of the assets; the app must be built with docs_url=redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    # root_path: behind a proxy that mounts Parley under a prefix, the page must still find its assets.
    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API reference",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # No OAuth2 scheme is declared, so Swagger UI needs no oauth2-redirect page.
            oauth2_redirect_url=None,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API reference",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # Google Fonts is another CDN; ReDoc falls back to the system fonts.
            with_google_fonts=False,
        )
