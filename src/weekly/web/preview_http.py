"""The preview's web server on 127.0.0.1: the preview page, the email (light or dark), the
preview's archive under /site/, and a server-sent event stream that says "reload".
"""

from __future__ import annotations

import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from weekly.listen import listening_socket
from weekly.render.jinja import BUILTIN_DIR
from weekly.web.preview import SITE_PREFIX, Previewer, dark_variant

HOST = "127.0.0.1"
SCRIPT = BUILTIN_DIR / "preview" / "preview.js"
HEARTBEAT_SECONDS = 15.0


class PreviewServer:
    """The HTTP server and the file watcher, running in threads while the context is open."""

    def __init__(self, previewer: Previewer, port: int) -> None:
        self.previewer = previewer
        handler = partial(_Handler, previewer, directory=str(previewer.site_dir))
        self.httpd = ThreadingHTTPServer((HOST, port), handler, bind_and_activate=False)
        self.httpd.socket.close()
        self.httpd.socket = listening_socket(HOST, port)
        self.httpd.server_address = self.httpd.socket.getsockname()
        self.httpd.daemon_threads = True
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True),
            threading.Thread(target=previewer.watch, args=(self._stop,), name="preview-watch"),
        ]

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def __enter__(self) -> PreviewServer:
        for thread in self._threads:
            thread.start()
        return self

    def wait(self) -> None:
        """Block until Ctrl-C."""
        try:
            while self._threads[0].is_alive():
                self._threads[0].join(timeout=1.0)
        except KeyboardInterrupt:
            pass

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self.previewer.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5.0)


class _Handler(SimpleHTTPRequestHandler):
    """Routes: `/` the page, `/email.html[?scheme=dark]`, `/preview.js`, `/events`, `/site/…`."""

    def __init__(self, previewer: Previewer, *args: object, **kwargs: object) -> None:
        self.previewer = previewer
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        snapshot = self.previewer.snapshot
        if url.path == "/":
            self._send("text/html", snapshot.page)
        elif url.path == "/email.html":
            dark = parse_qs(url.query).get("scheme") == ["dark"]
            self._send(
                "text/html", dark_variant(snapshot.email_html) if dark else snapshot.email_html
            )
        elif url.path == "/preview.js":
            self._send("text/javascript", SCRIPT.read_text(encoding="utf-8"))
        elif url.path == "/events":
            self._events(int((parse_qs(url.query).get("since") or ["0"])[0]))
        elif url.path == SITE_PREFIX.rstrip("/"):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", SITE_PREFIX)
            self.end_headers()
        elif url.path.startswith(SITE_PREFIX):
            super().do_GET()
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def translate_path(self, path: str) -> str:
        return super().translate_path(path.removeprefix(SITE_PREFIX.rstrip("/")))

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _send(self, kind: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self, since: int) -> None:
        """Server-sent events: the new version number each time the snapshot changes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        version = since
        try:
            while not self.previewer.closed:
                snapshot = self.previewer.wait_for_change(version, HEARTBEAT_SECONDS)
                if snapshot.version != version:
                    version = snapshot.version
                    self.wfile.write(f"data: {version}\n\n".encode())
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the page went away (it reloaded or was closed)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the editor's terminal is for errors, not for every request."""
