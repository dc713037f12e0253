"""`weekly stats`: how one issue or every issue did, as text, CSV or a chart."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from weekly.cli.options import ISSUE_NUMBER, root_option, warn
from weekly.errors import WeeklyError


def _chart_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--chart names a .svg or .png file: anything else is misuse, said before any work."""
    from weekly.stats.chart import chart_format

    if value is not None:
        try:
            chart_format(value)
        except WeeklyError as exc:
            raise click.BadParameter(exc.message, ctx, param) from None
    return value


@click.command()
@click.argument("number", type=ISSUE_NUMBER, required=False)
@click.option("--csv", "as_csv", is_flag=True, help="The numbers as CSV on stdout.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_chart_path,
    metavar="FILE.svg|png",
    help="Also draw a chart: clicks per link (one issue) or the issues over time.",
)
@root_option
def stats(number: int | None, as_csv: bool, chart: Path | None, root: Path) -> None:
    """How issue NUMBER did (default: a row per issue): delivered, failed, unsubscribed and
    complained since the send, opens and clicks (readers apart from proxies and bots)."""
    from weekly.config import load_config
    from weekly.stats.chart import issues_figure, links_figure, write_chart
    from weekly.stats.figures import all_figures, issue_figures
    from weekly.stats.table import issue_lines, overview_lines, write_csv

    config = load_config(root)
    language = config.newsletter.language
    if number is None:
        figures = all_figures(config)
        lines = overview_lines(figures)
        if chart is not None:
            write_chart(lambda: issues_figure(figures, language), chart, warn)
    else:
        one = issue_figures(config, number)
        figures, lines = [one], issue_lines(one)
        if chart is not None:
            write_chart(lambda: links_figure(one, language), chart, warn)
    if as_csv:
        write_csv(figures, sys.stdout)
    else:
        for line in lines:
            click.echo(line)
    if chart is not None:
        warn(f"chart written to {chart}")


COMMANDS = (stats,)
