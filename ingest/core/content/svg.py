"""Make an SVG safe to serve from the site: an allow-list, with attribute values parsed.

An SVG is a document: opened on its own (a reader clicks the image) it runs
script and loads other documents, in the site's origin. A deny-list of bad
elements misses the spellings nobody listed, so only known elements and
attributes are kept, and every value that may name another document is
parsed the way a browser parses it before it is judged:

- elements outside the allow-list are dropped with their content (``<a>``
  is unwrapped: its drawing stays); anything outside the SVG namespace is
  dropped (``foreignObject`` content, other vocabularies);
- attributes outside the allow-list are dropped (every ``on...`` handler
  among them); ``href``/``xlink:href`` may only point within the document
  (``#id``), and an ``<image>`` may also hold a raster ``data:image/...``;
- CSS, in ``style`` attributes, ``<style>`` elements and presentation
  attributes, is read with its escapes decoded (``u\\72l(`` is ``url(``)
  and comments removed; a ``url(...)`` that is not ``url(#id)``,
  ``@import``, ``expression(``, bindings and ``image-set(`` make the
  declaration (or the ``<style>`` element) go;
- animation elements (``set``, ``animate``...) stay only when they animate
  a plain presentation or geometry attribute with values that pass the same
  checks, so they cannot turn a reference into another document's;
- a document type (entities), a document that is not well-formed, or a root
  that is not ``<svg>`` cannot be made safe: the image is refused.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from ...errors import UnsafeSvg

__all__ = ["sanitize_svg", "UnsafeSvg"]


_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

_ELEMENTS = frozenset("""
svg g defs symbol use title desc switch view
path rect circle ellipse line polyline polygon
text tspan textPath
linearGradient radialGradient stop pattern clipPath mask marker image
filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting
feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur
feImage feMerge feMergeNode feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile
feTurbulence
animate animateMotion animateTransform set mpath
style
""".split())
_UNWRAP = frozenset({"a"})  # dropped, their children kept in their place
_ANIMATIONS = frozenset({"animate", "animateMotion", "animateTransform", "set"})

_PRESENTATION = frozenset("""
alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
color-interpolation-filters color-rendering direction display dominant-baseline fill fill-opacity
fill-rule filter flood-color flood-opacity font font-family font-size font-size-adjust font-stretch
font-style font-variant font-weight glyph-orientation-horizontal glyph-orientation-vertical
image-rendering letter-spacing lighting-color marker marker-end marker-mid marker-start mask
mask-type opacity overflow paint-order pointer-events shape-rendering stop-color stop-opacity stroke
stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity
stroke-width text-anchor text-decoration text-rendering transform transform-origin unicode-bidi
vector-effect visibility word-spacing writing-mode
""".split())
_GEOMETRY = frozenset("""
x y x1 y1 x2 y2 cx cy r rx ry fx fy fr width height d points pathLength offset
dx dy rotate textLength lengthAdjust startOffset method spacing side
""".split())
_OTHER = frozenset("""
id class lang tabindex viewBox preserveAspectRatio version baseProfile
gradientUnits gradientTransform spreadMethod patternUnits patternContentUnits patternTransform
clipPathUnits maskUnits maskContentUnits markerUnits markerWidth markerHeight refX refY orient
filterUnits primitiveUnits in in2 result stdDeviation mode operator k1 k2 k3 k4 values type
tableValues slope intercept amplitude exponent kernelMatrix order divisor bias targetX targetY
edgeMode kernelUnitLength preserveAlpha surfaceScale diffuseConstant specularConstant
specularExponent azimuth elevation pointsAtX pointsAtY pointsAtZ limitingConeAngle scale
xChannelSelector yChannelSelector radius baseFrequency numOctaves seed stitchTiles
requiredFeatures requiredExtensions systemLanguage
attributeName attributeType from to by begin dur end min max restart repeatCount repeatDur
fill calcMode keyTimes keySplines keyPoints additive accumulate path
style
""".split())
_ATTRIBUTES = _PRESENTATION | _GEOMETRY | _OTHER
# what an animation may change: never a reference, a style or a handler
_ANIMATABLE = (_PRESENTATION | _GEOMETRY | {"viewBox", "class"}) - {"clip-path", "mask", "filter", "marker",
                                                                      "marker-start", "marker-mid", "marker-end"}
_ANIMATION_VALUES = ("from", "to", "by", "values")

_HREF_NAMES = {"href", f"{{{_XLINK_NS}}}href"}
_KEPT_FOREIGN = {f"{{{_XML_NS}}}space", f"{{{_XML_NS}}}lang"}
_RASTER_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)

_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|(.))", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_URL_CALL = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_FORBIDDEN_CSS = re.compile(
    r"@import|@font-face|@namespace|expression\s*\(|image-set\s*\(|-moz-binding|behavior\s*:|javascript:|"
    r"src\s*\(|\burl\b|[\\<]",
    re.IGNORECASE,
)


def sanitize_svg(data: bytes) -> bytes:
    """The SVG with only allowed elements and attributes, and nothing that reaches another document."""
    text = data.lstrip(b"\xef\xbb\xbf")
    lowered = text.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise UnsafeSvg("an SVG with a document type is not stored")
    try:
        root = ElementTree.fromstring(text)  # comments and processing instructions (xml-stylesheet) are left out
    except ElementTree.ParseError as exc:
        raise UnsafeSvg(f"not a well-formed SVG: {exc}") from None
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise UnsafeSvg(f"the root element is <{_local(root.tag)}> outside the SVG namespace, not <svg>")
    _clean_attributes(root)
    _clean_children(root)
    ElementTree.register_namespace("", _SVG_NS)
    ElementTree.register_namespace("xlink", _XLINK_NS)
    cleaned: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return cleaned


def safe_css_value(value: str) -> str | None:
    """A CSS value (or a presentation attribute's) with escapes and comments gone, or None when it is unsafe.

    ``url(#id)`` (a reference within the document) is the only ``url()`` kept.
    """
    decoded = _decode_css(value)
    remaining = _URL_CALL.sub(lambda m: "" if _local_reference(m.group(2)) else "url", decoded)
    if _FORBIDDEN_CSS.search(remaining):
        return None
    return decoded


def safe_declarations(style: str) -> str:
    """The declarations of a ``style`` attribute that are allowed, decoded; the others dropped."""
    kept = []
    for declaration in _split_declarations(_decode_css(style)):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        if not colon or name not in _PRESENTATION:
            continue
        clean = safe_css_value(value)
        if clean is not None and clean.strip():
            kept.append(f"{name}:{clean.strip()}")
    return ";".join(kept)


# --- internals -------------------------------------------------------------


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _svg_local(tag: object) -> str | None:
    """The local name of an element in the SVG namespace; None for any other."""
    if not isinstance(tag, str) or not tag.startswith(f"{{{_SVG_NS}}}"):
        return None
    return tag[len(_SVG_NS) + 2:]


def _decode_css(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        return "" if match.group(2) == "\n" else match.group(2)

    return _CSS_COMMENT.sub("", _CSS_ESCAPE.sub(one, text))


def _local_reference(target: str) -> bool:
    return target.strip().startswith("#") and not any(c in target for c in "()\\'\"")


def _split_declarations(style: str) -> list[str]:
    """``;``-separated declarations, not splitting inside quotes or parentheses."""
    out: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in style:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0:
            out.append("".join(current))
            current = []
            continue
        current.append(ch)
    out.append("".join(current))
    return [d for d in out if d.strip()]


def _clean_attributes(element: ElementTree.Element) -> None:
    kind = _svg_local(element.tag) or ""
    for name in list(element.attrib):
        value = element.attrib[name]
        keep: str | None
        if name in _HREF_NAMES:
            keep = _href(kind, value)
        elif name in _KEPT_FOREIGN:
            keep = value
        elif name.startswith("{") or name not in _ATTRIBUTES:
            keep = None
        elif name == "style":
            keep = safe_declarations(value) or None
        elif kind in _ANIMATIONS and name == "attributeName":
            keep = value if value.strip() in _ANIMATABLE else None
        elif name in _PRESENTATION:  # read as CSS by the browser: escapes and url() count
            keep = safe_css_value(value)
        else:
            keep = value
        if keep is None:
            del element.attrib[name]
        else:
            element.attrib[name] = keep


def _href(kind: str, value: str) -> str | None:
    target = value.strip()
    if target.startswith("#") and _local_reference(target):
        return target
    if kind in ("image", "feImage") and _RASTER_DATA.fullmatch(target):
        return target
    return None


def _clean_children(element: ElementTree.Element) -> None:
    position = 0
    while position < len(element):
        child = element[position]
        kind = _svg_local(child.tag)
        if kind in _UNWRAP:
            _unwrap(element, position, child)
            continue  # the unwrapped children are judged in their new place
        if kind not in _ELEMENTS or not _keep(kind, child):
            _remove(element, position, child)
            continue
        _clean_attributes(child)
        if kind == "style":
            css = safe_css_value("".join(child.itertext()))
            if css is None:
                _remove(element, position, child)
                continue
            for grandchild in list(child):
                child.remove(grandchild)
            child.text = css
        else:
            _clean_children(child)
        position += 1


def _keep(kind: str, element: ElementTree.Element) -> bool:
    """Whether an animation only changes something harmless; other allowed elements always stay."""
    if kind not in _ANIMATIONS:
        return True
    if kind == "animateMotion":
        return True  # it moves along a path; its values are numbers and its mpath a reference within
    name = element.attrib.get("attributeName", "").strip()
    if kind == "animateTransform":
        return name in ("transform", "gradientTransform", "patternTransform", "")
    if name not in _ANIMATABLE:
        return False
    return all(safe_css_value(element.attrib[key]) is not None for key in _ANIMATION_VALUES if key in element.attrib)


def _remove(parent: ElementTree.Element, position: int, child: ElementTree.Element) -> None:
    """Drop ``child``, keeping the text that followed it."""
    if child.tail:
        if position == 0:
            parent.text = (parent.text or "") + child.tail
        else:
            previous = parent[position - 1]
            previous.tail = (previous.tail or "") + child.tail
    del parent[position]


def _unwrap(parent: ElementTree.Element, position: int, child: ElementTree.Element) -> None:
    """Put ``child``'s children (and text) where it was."""
    group = ElementTree.Element(f"{{{_SVG_NS}}}g")
    group.text = child.text
    group.extend(list(child))
    group.tail = child.tail
    parent[position] = group
