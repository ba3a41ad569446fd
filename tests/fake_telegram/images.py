"""Small generated images for tests, optionally with EXIF GPS tags as a phone camera writes."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825


def dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return float(degrees), float(minutes), seconds


def jpeg(
    *, gps: tuple[float, float] | None = None, size: tuple[int, int] = (64, 48), fmt: str = "JPEG"
) -> bytes:
    """An image; with ``gps=(lat, lon)`` it carries GPSLatitude/GPSLongitude with N/E refs."""
    image = Image.new("RGB", size, (180, 140, 60))
    exif = Image.Exif()
    if gps is not None:
        latitude, longitude = gps
        exif[GPS_IFD] = {
            1: "N" if latitude >= 0 else "S",
            2: dms(abs(latitude)),
            3: "E" if longitude >= 0 else "W",
            4: dms(abs(longitude)),
        }
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif.tobytes())
    return buffer.getvalue()
