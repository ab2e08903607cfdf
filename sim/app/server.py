"""Serving the planner's page (``sim app``): Solara's server (Starlette under uvicorn) on a local
address, printed at start."""

from __future__ import annotations

import os
import socket
import sys
import threading

APP = "sim.app.planner"


def serve(host: str = "127.0.0.1", port: int = 8765, app: str = APP) -> None:
    """Serve ``app`` (a module with a ``Page`` component) at http://HOST:PORT/ until interrupted."""
    import uvicorn

    check_address(host, port)
    os.environ["SOLARA_APP"] = app
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    print(f"sim app: open http://{host}:{port}/ in a browser (Ctrl-C stops the app)", flush=True)
    threading.Thread(target=prepare, daemon=True).start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"sim app: note: serving on {host}, reachable from other machines", file=sys.stderr,
              flush=True)
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")


def check_address(host: str, port: int) -> None:
    """Refuse, before printing an address, one the app cannot serve on (in use, or no such
    host), naming the argument and what to do."""
    from sim.errors import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"argument --host: cannot serve on '{host}' ({exc.strerror}); "
                         "give an address of this machine, e.g. 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"argument --port: cannot serve on {host}:{port} ({exc.strerror}; "
                             "another `sim app`?); choose another port with --port") from None


def prepare(region: str = "dehong") -> None:
    """Read the default region's boundaries and load the report's fonts while the planner reads
    the page, so the first map does not wait for them (best effort: a failure here shows again,
    with its message, when the map is drawn)."""
    try:
        import matplotlib.pyplot as plt

        from sim.configuration import PROJECT_ROOT, load_region
        from sim.report.maps import region_boundaries

        region_boundaries(load_region(PROJECT_ROOT / "configs" / "regions" / f"{region}.toml"))
        fig, ax = plt.subplots()
        ax.set_title("德宏")
        fig.canvas.draw()
        plt.close(fig)
    except Exception:  # noqa: BLE001 - see the docstring
        pass
