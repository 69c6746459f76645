"""Photos of findings: checking, content-hash storage, EXIF GPS and public copies.

Rules:

* Accepted: JPEG, PNG and HEIC/HEIF (HEIC only when Pillow can read it, which needs the
  ``pillow-heif`` plug-in; without it HEIC is refused with a clear message).
* Size limit (default 15 MB, :data:`DEFAULT_MAX_BYTES`), checked before decoding.
* The content must match the declared type: the format Pillow detects from the bytes
  (magic numbers) must match the file extension and/or the declared MIME type.
* Photos are stored as ``<sha256 of the bytes><ext>`` in the photos folder. The uploaded
  name is only used to read the declared extension and in messages, never as a path, so
  names such as ``../../etc/passwd.jpg`` are harmless.
* Originals are private: they keep their EXIF (which can hold a GPS position, a camera
  serial number or an owner name). :func:`exif_gps_lonlat` reads the GPS position to
  propose a location when a finding has none.
* The public copy (``public/<sha256>.jpg``) is re-encoded from the pixels only, so it
  carries no EXIF, XMP, ICC or comments; it is rotated upright first and downscaled to at
  most :data:`PUBLIC_MAX_PX` pixels on the longest side.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from pyproj import Transformer
from shapely.geometry import Point

from layers._common import Problem, ValidationError
from layers.io import write_atomic

logger = logging.getLogger(__name__)

#: Default size limit for one photo, in bytes (15 MB).
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
#: Longest side of the public copy, in pixels.
PUBLIC_MAX_PX = 1600
#: JPEG quality of the public copy.
PUBLIC_JPEG_QUALITY = 85

#: Pillow format -> stored file extension.
FORMAT_EXT: dict[str, str] = {"JPEG": ".jpg", "PNG": ".png", "HEIF": ".heic"}
#: Declared extension -> Pillow format.
EXT_FORMAT: dict[str, str] = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG",
                              ".heic": "HEIF", ".heif": "HEIF"}
#: Declared MIME type -> Pillow format.
MIME_FORMAT: dict[str, str] = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG",
                               "image/png": "PNG", "image/heic": "HEIF", "image/heif": "HEIF",
                               "image/heic-sequence": "HEIF", "image/heif-sequence": "HEIF"}

_GPS_IFD = 0x8825
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


class PhotoError(ValidationError):
    """A photo that cannot be accepted (wrong type, too large, unreadable)."""


@dataclass(frozen=True)
class PhotoInfo:
    """What a checked photo is.

    Attributes
    ----------
    sha256 : str
        Hex sha256 of the file bytes (the content hash used as the stored name).
    format : str
        Pillow format: ``"JPEG"``, ``"PNG"`` or ``"HEIF"``.
    ext : str
        Extension the photo is stored with (``".jpg"``, ``".png"``, ``".heic"``).
    size_bytes : int
        File size in bytes.
    width, height : int
        Size in pixels (before EXIF rotation).
    gps_lonlat : tuple of float or None
        (longitude, latitude) in degrees WGS 84 from EXIF, if present.
    """

    sha256: str
    format: str
    ext: str
    size_bytes: int
    width: int
    height: int
    gps_lonlat: tuple[float, float] | None


@dataclass(frozen=True)
class StoredPhoto:
    """A photo written to the photos folder.

    Attributes
    ----------
    info : PhotoInfo
        The checked original.
    path : Path or None
        The private original, ``<photos_dir>/<sha256><ext>`` (keeps EXIF); None when the
        store keeps photos in its database.
    public_sha256 : str
        Content hash of the public copy.
    public_path : Path or None
        The public copy (None when kept in the database), ``<photos_dir>/public/<public_sha256>.jpg`` (no EXIF, downscaled).
    proposed_location : Point or None
        EXIF GPS position in the store CRS (metres), to propose when a finding has none.
    """

    info: PhotoInfo
    path: Path | None
    public_sha256: str
    public_path: Path | None
    proposed_location: Point | None

    @property
    def sha256(self) -> str:
        """Content hash of the original."""
        return self.info.sha256


def heic_supported() -> bool:
    """True when Pillow can read HEIC (the ``pillow-heif`` plug-in is installed).

    Registers the plug-in with Pillow on first use (not at import time).
    """
    try:
        import pillow_heif
    except ImportError:
        return False
    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()
    return True


def _safe_name(name: str | None) -> str:
    """The declared name for messages only (repr, shortened); never used as a path."""
    if not name:
        return "<photo>"
    text = repr(str(name))
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(name: str | None, message: str, fix: str) -> PhotoError:
    return PhotoError([Problem(_safe_name(name), "", "photo", message, fix)])


def _declared_format(name: str | None, declared_type: str | None) -> tuple[str | None, str]:
    """Format implied by the name's extension and/or MIME type; and a text describing it."""
    fmt_ext = fmt_mime = None
    said = []
    if name:
        # Only the text after the last dot of the last path part; the name is never opened.
        base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
        ext = ("." + base.rsplit(".", 1)[-1].casefold()) if "." in base else ""
        if ext:
            said.append(f"extension {ext}")
            fmt_ext = EXT_FORMAT.get(ext)
            if fmt_ext is None:
                raise _fail(name, f"file type {ext} is not accepted",
                            "send a JPEG, PNG or HEIC photo")
    if declared_type:
        mime = declared_type.split(";")[0].strip().casefold()
        said.append(f"type {mime}")
        fmt_mime = MIME_FORMAT.get(mime)
        if fmt_mime is None:
            raise _fail(name, f"declared type {mime} is not accepted",
                        "send a JPEG, PNG or HEIC photo")
    if fmt_ext and fmt_mime and fmt_ext != fmt_mime:
        raise _fail(name, f"the extension says {fmt_ext} but the declared type says {fmt_mime}",
                    "send the photo with a matching name and type")
    return fmt_ext or fmt_mime, " and ".join(said)


def _read_bytes(data: bytes | str | Path, max_bytes: int, name: str | None) -> bytes:
    if isinstance(data, (str, Path)):
        p = Path(data)
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise _fail(name, f"cannot read the photo file ({exc.strerror})",
                        "check that the photo file exists") from None
        if size > max_bytes:
            raise _fail(name, f"photo is {size / 1e6:.1f} MB, larger than the limit of "
                        f"{max_bytes / 1e6:.1f} MB", "send a smaller photo")
        return p.read_bytes()
    if len(data) > max_bytes:
        raise _fail(name, f"photo is {len(data) / 1e6:.1f} MB, larger than the limit of "
                    f"{max_bytes / 1e6:.1f} MB", "send a smaller photo")
    return bytes(data)


def _looks_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _open(data: bytes, name: str | None) -> Image.Image:
    heic = heic_supported()
    if _looks_heif(data) and not heic:
        raise _fail(name, "the photo is HEIC, which cannot be read here",
                    "install pillow-heif (pip install pillow-heif), or send JPEG/PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            im.load()
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, SyntaxError, ValueError) as exc:
        raise _fail(name, f"the content is not a readable image ({type(exc).__name__})",
                    "send a JPEG, PNG or HEIC photo") from None
    return im


def _rational(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # old-style (num, den)
        num, den = value
        return float(num) / float(den)
    return float(value)  # type: ignore[arg-type]  # IFDRational, int, float


def exif_gps_lonlat(image: Image.Image) -> tuple[float, float] | None:
    """(longitude, latitude) in degrees WGS 84 from the image's EXIF GPS tags, or None.

    Returns None when the tags are missing, malformed, out of range or exactly (0, 0).
    """
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        parts_lat = [_rational(v) for v in gps[2]]
        parts_lon = [_rational(v) for v in gps[4]]
        lat = parts_lat[0] + parts_lat[1] / 60 + parts_lat[2] / 3600
        lon = parts_lon[0] + parts_lon[1] / 60 + parts_lon[2] / 3600
        lat_ref = str(gps.get(1, "N")).strip("\x00 ").upper()
        lon_ref = str(gps.get(3, "E")).strip("\x00 ").upper()
        if lat_ref == "S":
            lat = -lat
        if lon_ref == "W":
            lon = -lon
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lon, lat


def propose_location(lonlat: tuple[float, float] | None, crs: str) -> Point | None:
    """Transform an EXIF (longitude, latitude) to a point in *crs* (metres), or None."""
    if lonlat is None:
        return None
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = t.transform(*lonlat)
    return Point(x, y)


def inspect_photo(data: bytes | str | Path, declared_name: str | None = None,
                  declared_type: str | None = None, *,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> PhotoInfo:
    """Check a photo (size, format, content matches the declared type) and describe it.

    Parameters
    ----------
    data : bytes or path
        The photo bytes, or a path to read (its size is checked before reading).
    declared_name : str, optional
        Uploaded/source file name; only its extension is used (and it appears in messages).
        Defaults to the path's name when *data* is a path.
    declared_type : str, optional
        Declared MIME type, e.g. ``"image/jpeg"``.
    max_bytes : int
        Size limit in bytes.

    Raises
    ------
    PhotoError
        Too large, unreadable, not JPEG/PNG/HEIC, or content not matching the declared type.
    """
    if declared_name is None and isinstance(data, (str, Path)):
        declared_name = Path(data).name
    expected, said = _declared_format(declared_name, declared_type)
    raw = _read_bytes(data, max_bytes, declared_name)
    im = _open(raw, declared_name)
    try:
        fmt = im.format or ""
        if fmt not in FORMAT_EXT:
            raise _fail(declared_name, f"the content is {fmt or 'an unknown format'}, "
                        "not JPEG, PNG or HEIC", "send a JPEG, PNG or HEIC photo")
        if expected is not None and fmt != expected:
            raise _fail(declared_name, f"the content is {fmt} but the {said} says {expected}",
                        "send the photo with its real type, or rename it")
        return PhotoInfo(sha256=hashlib.sha256(raw).hexdigest(), format=fmt,
                         ext=FORMAT_EXT[fmt], size_bytes=len(raw), width=im.width,
                         height=im.height, gps_lonlat=exif_gps_lonlat(im))
    finally:
        im.close()


def public_copy(data: bytes, max_px: int = PUBLIC_MAX_PX) -> bytes:
    """JPEG bytes of an upright, downscaled copy with all metadata removed.

    The copy is rebuilt from the pixels only, so no EXIF (GPS, camera, owner), XMP, ICC
    profile or comment can survive.

    Parameters
    ----------
    data : bytes
        A checked photo (see :func:`inspect_photo`).
    max_px : int
        Longest side of the copy in pixels; smaller photos are not enlarged.
    """
    im = _open(data, None)
    try:
        upright = ImageOps.exif_transpose(im)
        if upright.mode in ("RGBA", "LA") or (upright.mode == "P"
                                              and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            upright = flat
        elif upright.mode.startswith("I;16") or upright.mode in ("I", "F"):
            upright = upright.point(lambda v: v / 256).convert("L")
        elif upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        buf = io.BytesIO()
        clean.save(buf, format="JPEG", quality=PUBLIC_JPEG_QUALITY, optimize=True)
        return buf.getvalue()
    finally:
        im.close()


def _write_once(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically unless it exists (content-addressed: same bytes)."""
    if path.exists():
        return
    write_atomic(path, data, mode=0o600)


def photo_path(photos_dir: str | Path, sha256: str, ext: str, public: bool = False) -> Path:
    """Where a photo with this content hash lives; validates the hash (no traversal)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"{sha256!r} is not a sha256 content hash")
    if ext not in (*FORMAT_EXT.values(), ".jpg"):
        raise ValueError(f"{ext!r} is not a photo extension")
    base = Path(photos_dir)
    return (base / "public" if public else base) / f"{sha256}{ext}"


def prepare_photo(data: bytes | str | Path, crs: str, declared_name: str | None = None,
                  declared_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  max_px: int = PUBLIC_MAX_PX) -> tuple[StoredPhoto, bytes, bytes]:
    """Check a photo and make its public copy, writing nothing.

    Returns
    -------
    (StoredPhoto, bytes, bytes)
        The photo description (``path``/``public_path`` None), the original bytes (with
        EXIF, private) and the public copy's bytes (no metadata, downscaled).

    Raises
    ------
    PhotoError
        Too large, wrong or unreadable type.
    """
    if declared_name is None and isinstance(data, (str, Path)):
        declared_name = Path(data).name
    raw = _read_bytes(data, max_bytes, declared_name)
    info = inspect_photo(raw, declared_name, declared_type, max_bytes=max_bytes)
    pub = public_copy(raw, max_px=max_px)
    pub_sha = hashlib.sha256(pub).hexdigest()
    sp = StoredPhoto(info=info, path=None, public_sha256=pub_sha, public_path=None,
                     proposed_location=propose_location(info.gps_lonlat, crs))
    return sp, raw, pub


def store_photo(data: bytes | str | Path, photos_dir: str | Path, crs: str,
                declared_name: str | None = None, declared_type: str | None = None, *,
                max_bytes: int = DEFAULT_MAX_BYTES,
                max_px: int = PUBLIC_MAX_PX) -> StoredPhoto:
    """Check a photo, store the original and a public copy under content-hash names.

    Parameters
    ----------
    data : bytes or path
        The photo.
    photos_dir : path
        The photos folder (next to the store). Originals go here, public copies into
        ``public/``.
    crs : str
        Store CRS for the proposed location (metres).
    declared_name, declared_type : str, optional
        See :func:`inspect_photo`. Never used as a path.
    max_bytes, max_px : int
        Size limit in bytes; longest side of the public copy in pixels.

    Returns
    -------
    StoredPhoto
        Paths, hashes and the EXIF GPS location proposal. Storing the same photo twice
        writes nothing new.
    """
    sp, raw, pub = prepare_photo(data, crs, declared_name, declared_type,
                                 max_bytes=max_bytes, max_px=max_px)
    original = photo_path(photos_dir, sp.sha256, sp.info.ext)
    _write_once(original, raw)
    pub_path = photo_path(photos_dir, sp.public_sha256, ".jpg", public=True)
    _write_once(pub_path, pub)
    logger.info("stored photo %s (%s, %d bytes)", sp.sha256[:12], sp.info.format,
                sp.info.size_bytes)
    return dataclasses.replace(sp, path=original, public_path=pub_path)
