from __future__ import annotations

import io
import json

from PIL import Image

from bot import media
from tests.fake_telegram import images


def jpeg(*, gps: dict[int, object] | None = None, size: tuple[int, int] = (32, 24)) -> bytes:
    """A JPEG with the given raw GPS IFD (tag number → value)."""
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    if gps is not None:
        exif[media.GPS_IFD] = gps
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_image_type_by_magic_bytes() -> None:
    assert media.image_type(jpeg()) == "image/jpeg"
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    assert media.image_type(png.getvalue()) == "image/png"
    webp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(webp, "WEBP")
    assert media.image_type(webp.getvalue()) == "image/webp"
    assert media.image_type(b"GIF89a....") is None
    assert media.image_type(b"%PDF-1.7") is None
    assert media.image_type(b"") is None


def test_gps_from_exif() -> None:
    data = jpeg(
        gps={
            1: "N",
            2: (30.0, 38.0, 15.0),  # 30°38'15" = 30.6375
            3: "E",
            4: (104.0, 3.0, 9.0),  # 104°3'9" = 104.0525
        }
    )
    assert media.exif_gps(data) == (30.6375, 104.0525)


def test_southern_and_western_hemispheres() -> None:
    data = jpeg(gps={1: "S", 2: (33.0, 51.0, 54.0), 3: "W", 4: (70.0, 39.0, 0.0)})
    latitude, longitude = media.exif_gps(data) or (0.0, 0.0)
    assert round(latitude, 4) == -33.865 and round(longitude, 4) == -70.65


def test_no_or_empty_gps() -> None:
    assert media.exif_gps(jpeg()) is None
    assert (
        media.exif_gps(jpeg(gps={1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)})) is None
    )
    assert media.exif_gps(b"not an image") is None


def test_location_payload_as_the_web_chat_sends_it() -> None:
    payload = media.location_payload(30.63751234, 104.0525)
    assert payload.startswith("/share_location{")
    assert json.loads(payload.removeprefix("/share_location")) == {
        "latitude": 30.637512,
        "longitude": 104.0525,
    }


def test_generated_camera_image_round_trips() -> None:
    data = images.jpeg(gps=(30.6375, 104.0525))
    assert media.image_type(data) == "image/jpeg"
    assert media.exif_gps(data) == (30.6375, 104.0525)
