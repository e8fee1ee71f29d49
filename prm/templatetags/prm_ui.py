"""Template helpers of the portal's look: the tenant's brand palette and the navigation links."""

from __future__ import annotations

import re

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

# Neutral colour of the platform's own pages (the base host has no tenant to take one from).
PLATFORM_COLOR = "#475569"
# Pico's page backgrounds in its light and dark schemes: link colours must stay readable on both.
_LIGHT_BACKGROUND = (255, 255, 255)
_DARK_BACKGROUND = (19, 23, 31)
_BLACK, _WHITE = (0, 0, 0), (255, 255, 255)
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

RGB = tuple[int, int, int]


def _rgb(color: str) -> RGB:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _luminance(rgb: RGB) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(rgb: RGB, toward: RGB, share: float) -> RGB:
    return tuple(round(c + (t - c) * share) for c, t in zip(rgb, toward, strict=True))  # type: ignore[return-value]


def _readable_on(rgb: RGB, background: RGB, minimum: float = 4.5) -> RGB:
    """`rgb`, darkened or lightened just enough to be readable as text on `background`."""
    toward = _BLACK if _luminance(background) > 0.5 else _WHITE
    for step in range(21):
        candidate = _mix(rgb, toward, step / 20)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return toward


def brand_palette(color: str | None) -> dict[str, str]:
    """The colours the portal derives from one brand colour, each meeting WCAG AA where it carries text.

    base: the brand itself, as a background; inverse: black or white, whichever reads better on it;
    hover: the background of a hovered button; text/text_dark: the brand as link text on the light and
    dark page backgrounds.
    """
    rgb = _rgb(color if color and _HEX.match(color) else PLATFORM_COLOR)
    inverse = _WHITE if contrast_ratio(rgb, _WHITE) >= contrast_ratio(rgb, _BLACK) else _BLACK
    hover = _mix(rgb, _BLACK if inverse == _WHITE else _WHITE, 0.15)
    return {
        "base": _hex(rgb),
        "inverse": _hex(inverse),
        "hover": _hex(hover),
        "text": _hex(_readable_on(rgb, _LIGHT_BACKGROUND)),
        "text_dark": _hex(_readable_on(rgb, _DARK_BACKGROUND)),
    }


@register.simple_tag
def brand_colors(tenant=None) -> dict[str, str]:
    """`{% brand_colors tenant as brand %}`: the palette of the tenant's colour, or the platform's."""
    return brand_palette(getattr(tenant, "primary_color", None))


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str) -> str:
    """One item of the main navigation: `{% nav_link "partners:list" _("Partners") %}`.

    Renders nothing when the URL does not exist on this host, so one navigation serves the tenant's
    portal and the platform alike. The link of the section being shown carries aria-current="page".
    """
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    match = getattr(context.get("request"), "resolver_match", None)
    if match is None:
        current = False
    elif ":" in url_name:
        current = match.namespace == url_name.rsplit(":", 1)[0]
    else:
        current = match.view_name == url_name
    if current:
        return format_html('<li><a href="{}" aria-current="page">{}</a></li>', url, label)
    return format_html('<li><a href="{}">{}</a></li>', url, label)
