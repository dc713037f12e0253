"""Commands that run a web server on this machine: `preview` and `serve`."""

from __future__ import annotations

from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, PORT, root_option


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@root_option
def preview(number: int | None, port: int, open_browser: bool, root: Path) -> None:
    """Preview issue NUMBER (default: the newest) on 127.0.0.1, recomposing on every save."""
    from weekly.web.preview import run_preview

    run_preview(root, number, port, open_browser, announce=click.echo)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=PORT, default=None, help="Port (default: serve.port, 8025).")
@root_option
def serve(host: str | None, port: int | None, root: Path) -> None:
    """Run the unsubscribe and sign-up web service (put it behind your HTTPS proxy).

    POST /unsubscribe/TOKEN is RFC 8058 one-click; GET shows a page with a button.
    POST /subscribe mails a confirmation link; GET /confirm/TOKEN records the consent.
    """
    from weekly.web.serve import serve as run

    run(root, host, port)


COMMANDS = (preview, serve)
