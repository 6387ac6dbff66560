"""A model card as data (sections of paragraphs, bullet lists and tables), rendered to Markdown and HTML.

One structure, two renderings: the Markdown and the HTML card cannot say different things.
"""

from __future__ import annotations

import dataclasses
import html
from typing import List, Sequence, Tuple, Union


@dataclasses.dataclass
class Table:
    header: Sequence[str]
    rows: List[Sequence[object]]


@dataclasses.dataclass
class Bullets:
    items: List[str]


Block = Union[str, Table, Bullets]


@dataclasses.dataclass
class Section:
    title: str
    blocks: List[Block] = dataclasses.field(default_factory=list)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.4f}"
    return str(value)


def to_markdown(title: str, sections: Sequence[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                lines.append("| " + " | ".join(block.header) + " |")
                lines.append("|" + "---|" * len(block.header))
                lines += ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in block.rows]
            elif isinstance(block, Bullets):
                lines += [f"- {item}" for item in block.items]
            else:
                lines.append(block)
            lines.append("")
    return "\n".join(lines)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;"
        "text-align:left}th{background:#f3f3f3}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem}")


def to_html(title: str, sections: Sequence[Section]) -> str:
    """A self-contained page (no scripts, no external resources)."""
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"]
    for section in sections:
        anchor = section.title.lower().replace(" ", "-")
        parts.append(f"<h2 id={esc(anchor)}>{esc(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                head = "".join(f"<th>{esc(h)}</th>" for h in block.header)
                body = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
                               for row in block.rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(block, Bullets):
                parts.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in block.items) + "</ul>")
            else:
                parts.append(f"<p>{esc(block)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def pairs(rows: Sequence[Tuple[str, object]]) -> Table:
    """A two-column (item, value) table."""
    return Table(["item", "value"], [list(row) for row in rows])
