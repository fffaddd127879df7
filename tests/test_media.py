"""MMS images: POST /api/media judges the bytes (never the name or the Content-Type), strips
metadata and re-encodes to at most 1 MB; GET /media/<token>.<ext> serves them publicly with
the decoded format's type; a campaign takes only its own shop's image."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shopify_app.services.media import images

from .images import animated_gif, encoded, jpeg_with_gps, noise, noisy_animation, small_png

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def upload(api, data: bytes, name: str = "picture.png", content_type: str = "image/png"):
    return api.post("/api/media", data={"file": (io.BytesIO(data), name, content_type)})


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def test_a_png_is_stored_and_served_publicly_with_its_decoded_type(api, client):
    response = upload(api, small_png(), name="shirt.png")
    assert response.status_code == 201, response.get_json()
    media = response.get_json()
    assert (media["content_type"], media["width"], media["height"]) == ("image/png", 40, 30)
    assert media["url"].startswith("https://app.example.test/media/")
    assert media["url"].endswith(".png")
    assert (media["animated"], media["frames_dropped"]) == (False, False)
    served = client.get(media["url"].removeprefix("https://app.example.test"))  # no session token
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in served.headers["Cache-Control"]
    assert len(served.data) == media["size"] <= images.MAX_BYTES
    assert Image.open(io.BytesIO(served.data)).format == "PNG"
    again = client.get(served.request.path, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_the_content_type_comes_from_the_bytes_not_the_name_or_the_header(api, client):
    jpeg = encoded(Image.new("RGB", (30, 30), (1, 2, 3)), "JPEG")
    media = upload(api, jpeg, name="not-really.png", content_type="image/png").get_json()
    assert media["content_type"] == "image/jpeg"
    assert media["url"].endswith(".jpg")
    served = client.get(media["url"].removeprefix("https://app.example.test"))
    assert served.headers["Content-Type"] == "image/jpeg"
    wrong_extension = media["url"].removeprefix("https://app.example.test").removesuffix(".jpg") + ".png"
    assert client.get(wrong_extension).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(SVG, id="svg"),
        pytest.param(HTML, id="html"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + HTML, id="png-magic-then-html"),
        pytest.param(encoded(Image.new("RGB", (8, 8)), "BMP"), id="bmp"),
        pytest.param(encoded(Image.new("RGB", (8, 8)), "WEBP"), id="webp"),
        pytest.param(b"GIF89a" + b"\x00" * 5, id="truncated-gif"),
    ],
)
def test_anything_but_a_decodable_jpeg_png_or_gif_named_png_is_422(api, data):
    response = upload(api, data, name="picture.png", content_type="image/png")
    assert response.status_code == 422
    assert error_code(response) in {"unsupported_image_type", "image_corrupt"}
    assert response.get_json()["error"]["details"]["fields"]["file"]


def test_a_polyglot_keeps_only_its_picture(api, client):
    """A PNG with HTML after its end: accepted as the PNG it is, the trailing bytes dropped."""
    media = upload(api, small_png() + HTML).get_json()
    served = client.get(media["url"].removeprefix("https://app.example.test"))
    assert b"<script>" not in served.data
    assert served.headers["Content-Type"] == "image/png"


def test_exif_and_its_gps_position_are_removed_and_the_photo_stays_upright(api, client):
    original = Image.open(io.BytesIO(jpeg_with_gps()))
    assert original.getexif().get_ifd(0x8825)  # the upload carries a position
    media = upload(api, jpeg_with_gps(), name="holiday.jpg", content_type="image/jpeg").get_json()
    stored = Image.open(io.BytesIO(client.get(media["url"].removeprefix("https://app.example.test")).data))
    assert dict(stored.getexif()) == {}
    assert not {"exif", "icc_profile", "comment"} & set(stored.info)
    assert stored.size == (80, 120)  # the Orientation tag applied before it was dropped


@pytest.mark.parametrize(
    ("kind", "content_type", "quality"),
    [("JPEG", "image/jpeg", {"quality": 98}), ("PNG", "image/png", {})],
    ids=["jpeg-loses-quality-first", "png-loses-pixels"],
)
def test_a_large_image_is_re_encoded_to_at_most_one_megabyte_in_its_format(api, kind, content_type, quality):
    photo = encoded(noise((1200, 800)), kind, **quality)  # noise: incompressible
    assert images.MAX_BYTES < len(photo) < images.UPLOAD_MAX_BYTES
    media = upload(api, photo, name="big.img", content_type="application/octet-stream").get_json()
    assert media["content_type"] == content_type
    assert media["size"] <= images.MAX_BYTES
    assert media["width"] <= 1200
    assert media["width"] / media["height"] == pytest.approx(1.5, rel=0.01)


def test_an_animation_that_fits_is_kept_and_one_that_does_not_keeps_its_first_frame(api, client):
    small = upload(api, animated_gif(), name="a.gif", content_type="image/gif").get_json()
    assert small["animated"] is True
    served = Image.open(io.BytesIO(client.get(small["url"].removeprefix("https://app.example.test")).data))
    assert served.n_frames == 4
    heavy = noisy_animation(frames=12, size=(420, 420))
    assert len(heavy) > images.MAX_BYTES
    large = upload(api, heavy, name="b.gif", content_type="image/gif").get_json()
    assert (large["animated"], large["frames_dropped"]) == (False, True)
    assert large["size"] <= images.MAX_BYTES


def test_an_upload_over_five_megabytes_is_413_before_it_is_decoded(api, monkeypatch):
    decoded = []
    monkeypatch.setattr(images, "prepare", lambda raw: decoded.append(raw))
    response = upload(api, b"\xff\xd8\xff" + b"\x00" * (images.UPLOAD_MAX_BYTES + 70 * 1024))
    assert response.status_code == 413
    assert decoded == []


def test_an_upload_without_a_file_part_is_422(api):
    response = api.post("/api/media", data={"other": "x"})
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["details"]["fields"]


def test_an_unknown_token_is_404_and_the_route_needs_no_session(client):
    assert client.get("/media/" + "A" * 32 + ".png").status_code == 404
    assert client.get("/media/../../etc/passwd.png").status_code == 404


def test_another_shops_image_is_404_and_cannot_be_attached(api, other_api):
    media = upload(api, small_png()).get_json()
    assert other_api.get(f"/api/media/{media['id']}").status_code == 404
    created = other_api.post("/api/campaigns", json={"name": "C", "body": "Hi", "media_id": media["id"]})
    assert created.status_code == 422
    assert created.get_json()["error"]["details"]["fields"]["media_id"] == ["No such image."]
    own = api.post("/api/campaigns", json={"name": "C", "body": "Hi", "media_id": media["id"]})
    assert own.status_code == 201
    assert own.get_json()["media_id"] == media["id"]
    assert api.get(f"/api/media/{media['id']}").get_json()["url"] == media["url"]
    detached = api.patch(f"/api/campaigns/{own.get_json()['id']}", json={"media_id": None})
    assert detached.get_json()["media_id"] is None
