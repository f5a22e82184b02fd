"""A share link's poster: a 750×1334 PNG (a phone screen) for the guide to post — the
product's image (or the content's), its name and price, the brand, the guide's tracking code
and the QR code of the link.

It never fails for want of an image or a font: the image is fetched with a short timeout
and a size limit (and never from a private address), a drawn placeholder stands in when it
cannot be had; Chinese text uses Noto Sans CJK where installed (fonts-noto-cjk), else
Pillow's own font. The PNG bytes are cached per link and product version."""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
import zlib
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import segno
from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont, ImageOps

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 750, 1334
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
FETCH_TIMEOUT = 3.0  # seconds, connect and read
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
CACHE_SECONDS = 24 * 3600
ALLOW_PRIVATE_HOSTS = False  # tests serve images from loopback

RED = (200, 16, 46)
INK = (27, 31, 36)
MUTED = (89, 99, 110)
PAPER = (255, 255, 255)
PLACEHOLDER = (238, 241, 245)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in CJK_FONTS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _public_host(host: str) -> bool:
    if ALLOW_PRIVATE_HOSTS:
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return False
    return True


def fetch_image(url: str) -> Image.Image | None:
    """The image at `url`, or None (no URL, not http(s), a private host, too slow, too big,
    not an image). Never raises."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _public_host(parts.hostname):
        return None
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False) as response:
            if response.status_code != 200:
                return None
            if int(response.headers.get("Content-Length") or 0) > MAX_IMAGE_BYTES:
                return None
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_IMAGE_BYTES:
                    return None
        image = Image.open(io.BytesIO(bytes(body)))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            return None
        image.load()
        return image.convert("RGB")
    except Exception:  # network, decoding, a decompression bomb: the placeholder stands in
        logger.info("poster image %s could not be used", url, exc_info=True)
        return None


def _placeholder(size: int, label: str) -> Image.Image:
    image = Image.new("RGB", (size, size), PLACEHOLDER)
    draw = ImageDraw.Draw(image)
    # a simple picture frame: a sun and a hill, so the poster reads as "image goes here"
    draw.ellipse((size * 0.62, size * 0.18, size * 0.82, size * 0.38), fill=(214, 220, 227))
    draw.polygon(
        [(0, size * 0.85), (size * 0.35, size * 0.45), (size * 0.7, size * 0.85)], fill=(214, 220, 227)
    )
    font = _font(36)
    text = label[:14]
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - (box[2] - box[0])) / 2, size * 0.88), text, font=font, fill=MUTED)
    return image


def _qr(url: str, size: int) -> Image.Image:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=10, border=2)
    out.seek(0)
    return Image.open(out).convert("RGB").resize((size, size), Image.Resampling.NEAREST)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, max_lines: int) -> list[str]:
    """Lines of `text` that fit `width` (by character: works for Chinese and Latin alike)."""
    lines: list[str] = []
    current = ""
    for char in text.replace("\n", " "):
        trial = current + char
        if draw.textlength(trial, font=font) <= width:
            current = trial
            continue
        lines.append(current)
        current = char.lstrip()
        if len(lines) == max_lines:
            break
    if current and len(lines) < max_lines:
        lines.append(current)
    if len(lines) == max_lines and "".join(lines) != text.replace("\n", " ").strip():
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def render_poster(
    *,
    title: str,
    price: Decimal | None,
    brand_name: str,
    tracking_code: str,
    link_url: str,
    image_url: str = "",
    placeholder_label: str = "",
) -> bytes:
    """The poster as PNG bytes (750×1334)."""
    poster = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(poster)
    margin = 40
    # the brand's band
    draw.rectangle((0, 0, WIDTH, 96), fill=RED)
    draw.text((margin, 26), brand_name[:30], font=_font(40), fill=PAPER)
    # the picture, square, cropped to fill
    side = WIDTH - 2 * margin
    picture = fetch_image(image_url)
    if picture is None:
        picture = _placeholder(side, placeholder_label or brand_name)
    else:
        picture = ImageOps.fit(picture, (side, side), Image.Resampling.LANCZOS)
    poster.paste(picture, (margin, 128))
    y = 128 + side + 28
    # name (two lines at most) and price
    name_font = _font(40)
    for line in _wrap(draw, title, name_font, side, 2):
        draw.text((margin, y), line, font=name_font, fill=INK)
        y += 52
    if price is not None:
        draw.text((margin, y + 6), f"¥{Decimal(price):.2f}", font=_font(56), fill=RED)
    # the QR code and the guide's code, bottom
    qr_side = 260
    qr_top = HEIGHT - qr_side - 48
    poster.paste(_qr(link_url, qr_side), (WIDTH - margin - qr_side, qr_top))
    text_font = _font(30)
    draw.text((margin, qr_top + 40), "扫码查看 · Scan to shop", font=text_font, fill=MUTED)
    draw.text((margin, qr_top + 100), tracking_code, font=_font(44), fill=INK)
    out = io.BytesIO()
    poster.save(out, format="PNG", optimize=True)
    return out.getvalue()


def poster_for_link(link, *, link_url: str, tracking_code: str) -> bytes:
    """A share link's poster, cached per link and version of what it shows. `link` has its
    product / content and brand loaded."""
    if link.product_id:
        version = f"p{link.product.updated_at.timestamp():.6f}"
    else:  # content has no updated_at: what the poster shows is the version
        version = f"c{zlib.crc32(f'{link.content.title}|{link.content.image_url}'.encode())}"
    url_sum = zlib.crc32(f"{link_url}|{tracking_code}|{link.brand.name}".encode())
    key = f"guides:poster:{link.pk}:{version}:{url_sum}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    if link.product_id:
        png = render_poster(
            title=link.product.name,
            price=link.product.price,
            brand_name=link.brand.name,
            tracking_code=tracking_code,
            link_url=link_url,
            image_url=link.product.image_url,
            placeholder_label=link.product.sku,
        )
    else:
        png = render_poster(
            title=link.content.title,
            price=None,
            brand_name=link.brand.name,
            tracking_code=tracking_code,
            link_url=link_url,
            image_url=link.content.image_url,
        )
    cache.set(key, png, CACHE_SECONDS)
    return png
