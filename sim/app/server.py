"""Serving the planner's page (``sim app``): Solara's server (Starlette under uvicorn) on a local
address, printed at start."""

from __future__ import annotations

import os
import sys

APP = "sim.app.planner"


def serve(host: str = "127.0.0.1", port: int = 8765, app: str = APP) -> None:
    """Serve ``app`` (a module with a ``Page`` component) at http://HOST:PORT/ until interrupted."""
    import uvicorn

    os.environ["SOLARA_APP"] = app
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    print(f"sim app: open http://{host}:{port}/ in a browser (Ctrl-C stops the app)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"sim app: note: serving on {host}, reachable from other machines", file=sys.stderr,
              flush=True)
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")
