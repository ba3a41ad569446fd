"""Checking resident images and reading the GPS position a camera wrote into them."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # the case store refuses more
GPS_IFD = 0x8825
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def image_type(data: bytes) -> str | None:
    """The content type told by the file's first bytes, if it is one the case store accepts."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _degrees(value: Any) -> float:
    """Degrees from EXIF (degrees, minutes, seconds) rationals."""
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600


def exif_gps(data: bytes) -> tuple[float, float] | None:
    """(latitude, longitude) from the image's EXIF GPS tags, or None.

    Telegram recompresses photos and drops EXIF; images sent as files keep it.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(GPS_IFD)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        log.info("no EXIF readable: %s", exc)
        return None
    try:
        latitude = _degrees(gps[2])
        longitude = _degrees(gps[4])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        latitude = -latitude
    if str(gps.get(3, "E")).upper().startswith("W"):
        longitude = -longitude
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    if latitude == 0 and longitude == 0:  # cameras without a fix write zeros
        return None
    return round(latitude, 6), round(longitude, 6)


def location_payload(latitude: float, longitude: float) -> str:
    """The message a shared location becomes, as the web chat sends it."""
    point = {"latitude": round(latitude, 6), "longitude": round(longitude, 6)}
    return "/share_location" + json.dumps(point, separators=(",", ":"))
