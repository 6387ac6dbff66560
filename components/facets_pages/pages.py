"""Facets Overview and Facets Dive as self-contained HTML pages that open offline, from ``file://``.

Used by the FacetsPages component (pipeline artifacts, shown by the Kubeflow
UI) and by the local run's report folder (``reporting/``).

Why not TFDV's own HTML: it loads the web-components polyfill and the Facets
bundle from the internet and relies on HTML imports, which Chromium removed;
the page is blank offline, behind many proxies and in any current browser
without them (PAIR-code/facets#116, #52; data-validation#108).

The viewer comes from the ``witwidget`` wheel (a pinned dependency):
``witwidget/static/wit_jupyter.html`` is a vulcanized Polymer 2 bundle that
defines ``facets-overview`` and ``facets-dive``.  Its content is inlined into
the page itself rather than imported, so no HTML import, XHR or network
request is needed — current browsers implement Custom Elements and Shadow DOM
natively.  Three things are removed from the bundle: the What-If Tool
dashboard instance it ends with, ``@font-face`` rules that point at absolute
``/font-roboto/`` URLs (system fonts are used instead), and nothing else.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.util
import io
import json
import math
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

BUNDLE_PACKAGE = "witwidget"
BUNDLE_PATH = ("static", "wit_jupyter.html")

# Facets Dive briefly lays out an empty grid (0 × 0) when data arrives and sets
# "translate(NaN,NaN)" transforms, which the browser rejects with a console
# error before the next layout sets valid ones.  Skipping exactly those writes
# changes nothing on screen and keeps the console clean.
_NAN_TRANSFORM_GUARD = """<script>
(function () {
  const set = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (name === 'transform' && this instanceof SVGElement && String(value).includes('NaN')) return;
    return set.call(this, name, value);
  };
})();
</script>"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 16px; }}
h1 {{ font-size: 1.3em; }} h2 {{ font-size: 1.1em; margin-top: 1.5em; }}
p.note {{ color: #555; max-width: 60em; }}
facets-dive {{ display: flex; width: 100%; height: {dive_height}px; }}
</style></head>
<body>
<h1>{title}</h1>
{intro}
{guard}
{bundle}
{body}
</body></html>
"""


class ViewerMissing(RuntimeError):
    """The Facets viewer bundle is not installed."""


@functools.lru_cache(maxsize=1)
def viewer_bundle() -> str:
    """The Facets web components, ready to inline (read from the installed ``witwidget`` wheel)."""
    spec = importlib.util.find_spec(BUNDLE_PACKAGE)  # locates the package without importing TensorFlow again
    if spec is None or not spec.submodule_search_locations:
        raise ViewerMissing(f"the Facets viewer comes from the '{BUNDLE_PACKAGE}' package, which is not installed; "
                            "run 'make setup' (or pip install -r requirements/lock.txt)")
    path = os.path.join(list(spec.submodule_search_locations)[0], *BUNDLE_PATH)
    with open(path, encoding="utf-8") as handle:
        bundle = handle.read()
    bundle = re.sub(r"<wit-dashboard[^>]*>\s*</wit-dashboard>", "", bundle)
    bundle = re.sub(r"@font-face\s*\{[^}]*\}", "", bundle)
    # The bundle opens with a doctype of its own; one per page.
    return re.sub(r"^\s*<!doctype html>", "", bundle, flags=re.I)


def _page(title: str, intro: str, body: str, dive_height: int = 720) -> str:
    return _PAGE.format(title=html.escape(title), intro=intro, guard=_NAN_TRANSFORM_GUARD, bundle=viewer_bundle(),
                        body=body, dive_height=dive_height)


def combine(named: Sequence[Tuple[str, statistics_pb2.DatasetFeatureStatisticsList]]
            ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """One statistics list whose datasets are the first dataset of each input, renamed."""
    combined = statistics_pb2.DatasetFeatureStatisticsList()
    for name, stats in named:
        dataset = combined.datasets.add()
        dataset.CopyFrom(stats.datasets[0])
        dataset.name = name
    return combined


def overview_page(title: str, comparisons: Sequence[Tuple[str, statistics_pb2.DatasetFeatureStatisticsList]],
                  intro: str = "") -> str:
    """One Facets Overview per comparison (heading, statistics to compare side by side)."""
    parts, scripts = [], []
    for index, (heading, stats) in enumerate(comparisons):
        parts.append(f"<h2>{html.escape(heading)}</h2><facets-overview id=\"overview{index}\"></facets-overview>")
        proto = base64.b64encode(stats.SerializeToString()).decode("ascii")
        scripts.append(f'document.getElementById("overview{index}").protoInput = "{proto}";')
    body = "\n".join(parts) + ("<script>customElements.whenDefined('facets-overview').then(() => {"
                               + "".join(scripts) + "});</script>")
    return _page(title, intro, body)


def dive_page(title: str, rows: List[Dict[str, object]], atlas_jpeg: bytes, sprite_size: int,
              vertical: str, horizontal: str, intro: str = "") -> str:
    """Facets Dive over ``rows`` (one dict per example); sprite ``i`` of the atlas is row ``i``'s thumbnail."""
    atlas = "data:image/jpeg;base64," + base64.b64encode(atlas_jpeg).decode("ascii")
    settings = {"spriteImageWidth": sprite_size, "spriteImageHeight": sprite_size, "atlasUrl": atlas,
                "verticalFacet": vertical, "horizontalFacet": horizontal}
    # The data goes in a JSON script block (never parsed as HTML), then onto the element before it is attached.
    data = json.dumps(rows, ensure_ascii=True).replace("</", "<\\/")
    body = f"""<div id="dive-holder"></div>
<script type="application/json" id="dive-data">{data}</script>
<script>
customElements.whenDefined('facets-dive').then(() => {{
  const dive = document.createElement('facets-dive');
  const settings = {json.dumps(settings)};
  const facets = {{verticalFacet: settings.verticalFacet, horizontalFacet: settings.horizontalFacet}};
  Object.assign(dive, settings);
  dive.data = JSON.parse(document.getElementById('dive-data').textContent);
  document.getElementById('dive-holder').appendChild(dive);
  // Dive picks its own colouring when data arrives; the chosen facets are applied once it has.
  requestAnimationFrame(() => Object.assign(dive, facets));
}});
</script>"""
    return _page(title, intro, body)


#: Largest atlas side: WebGL guarantees 4096-px textures on every device.
MAX_ATLAS_SIDE = 4096
MAX_SPRITE = 64


def sprite_atlas(images: Sequence[Optional[bytes]]) -> Tuple[bytes, int]:
    """(JPEG atlas, sprite side): thumbnail ``i`` at row ``i // columns``, column ``i % columns``.

    Sprites shrink as the dataset grows so that every example fits one
    4096-px texture; an undecodable image gets a grey tile with a red cross.
    """
    return streamed_sprite_atlas(len(images), enumerate(images))


def streamed_sprite_atlas(count: int, images: Iterable[Tuple[int, Optional[bytes]]]) -> Tuple[bytes, int]:
    """:func:`sprite_atlas` from ``(index, encoded image)`` pairs in any order, each pasted as it arrives:
    only the atlas is held, never the dataset's images."""
    from PIL import Image, ImageDraw

    columns = math.ceil(math.sqrt(max(count, 1)))
    sprite = max(4, min(MAX_SPRITE, MAX_ATLAS_SIDE // columns))
    rows = math.ceil(max(count, 1) / columns)
    atlas = Image.new("RGB", (columns * sprite, rows * sprite), (255, 255, 255))
    for index, data in images:
        x, y = (index % columns) * sprite, (index // columns) * sprite
        try:
            image = Image.open(io.BytesIO(data or b""))
            image.draft("RGB", (sprite, sprite))  # JPEG: decode at reduced size, much faster for photos
            image = image.convert("RGB")
            image.thumbnail((sprite, sprite))
            atlas.paste(image, (x + (sprite - image.width) // 2, y + (sprite - image.height) // 2))
        except Exception:  # undecodable (quarantined) files are shown as a marked tile
            draw = ImageDraw.Draw(atlas)
            draw.rectangle((x, y, x + sprite - 1, y + sprite - 1), fill=(200, 200, 200))
            draw.line((x, y, x + sprite - 1, y + sprite - 1), fill=(190, 0, 30), width=max(1, sprite // 16))
            draw.line((x, y + sprite - 1, x + sprite - 1, y), fill=(190, 0, 30), width=max(1, sprite // 16))
    buffer = io.BytesIO()
    atlas.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), sprite
