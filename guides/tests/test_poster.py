"""The share-link poster: a 750×1334 PNG that Pillow opens, with the product's image when it
can be fetched and a drawn placeholder when it cannot (error, timeout, not an image, a private
address, no URL); cached per link and product version."""

import io
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from guides import poster
from guides.tests.factories import ShareContentFactory, ShareLinkFactory

pytestmark = pytest.mark.django_db


class ImageServer:
    """Serves a solid blue 400×400 PNG at /ok.png, 404 elsewhere, and counts requests."""

    def __init__(self):
        buf = io.BytesIO()
        Image.new("RGB", (400, 400), (0, 0, 255)).save(buf, format="PNG")
        png, server = buf.getvalue(), self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests += 1
                if self.path == "/ok.png":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(png)))
                    self.end_headers()
                    self.wfile.write(png)
                elif self.path == "/junk.png":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"not an image at all")
                else:
                    self.send_response(404)
                    self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def images(monkeypatch):
    monkeypatch.setattr(poster, "ALLOW_PRIVATE_HOSTS", True)
    server = ImageServer()
    yield server
    server.stop()


def _render(image_url):
    png = poster.render_poster(
        title="羊绒围巾 Cashmere scarf with a very long name that needs two lines or more to fit",
        price=Decimal("199"),
        brand_name="天地 Tiandi",
        tracking_code="G00042",
        link_url="https://tiandi.example.com/g/abc/",
        image_url=image_url,
    )
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def _blue_pixels(image):
    # the picture sits at (40, 128) .. (710, 798): sample its centre
    return image.getpixel((375, 460))


def test_the_poster_is_a_750_by_1334_png_with_the_products_image(images):
    image = _render(f"{images.base}/ok.png")
    assert image.format == "PNG" and image.size == (750, 1334)
    assert _blue_pixels(image) == (0, 0, 255)


@pytest.mark.parametrize("path", ["/missing.png", "/junk.png", None, "closed"])
def test_the_poster_never_fails_when_the_image_cannot_be_had(images, path):
    if path is None:
        url = ""
    elif path == "closed":
        images.stop()
        url = f"{images.base}/ok.png"
    else:
        url = f"{images.base}{path}"
    image = _render(url)
    assert image.size == (750, 1334)
    assert _blue_pixels(image) != (0, 0, 255)  # the placeholder


def test_a_private_address_is_never_fetched(monkeypatch):
    server = ImageServer()
    try:
        image = _render(f"{server.base}/ok.png")
        assert server.requests == 0 and _blue_pixels(image) != (0, 0, 255)
    finally:
        server.stop()


def test_without_a_cjk_font_pillows_own_font_is_used(monkeypatch):
    monkeypatch.setattr(poster, "CJK_FONTS", ("/nonexistent/font.ttc",))
    assert _render("").size == (750, 1334)


def test_the_poster_is_cached_per_link_and_product_version(images, brand):
    link = ShareLinkFactory(brand=brand)
    link.product.image_url = f"{images.base}/ok.png"
    link.product.save()
    first = poster.poster_for_link(link, link_url="https://x/g/1/", tracking_code="G1")
    second = poster.poster_for_link(link, link_url="https://x/g/1/", tracking_code="G1")
    assert first == second and images.requests == 1
    link.product.name = "New name"
    link.product.save()
    link.product.refresh_from_db()
    poster.poster_for_link(link, link_url="https://x/g/1/", tracking_code="G1")
    assert images.requests == 2


def test_a_content_poster_has_no_price(brand):
    link = ShareLinkFactory(brand=brand, product=None, content=ShareContentFactory(brand=brand))
    png = poster.poster_for_link(link, link_url="https://x/g/2/", tracking_code="G2")
    assert Image.open(io.BytesIO(png)).size == (750, 1334)
