"""Tests for walks.photos: EXIF stripping, GPS proposal, traversal names, type checks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from pyproj import Transformer

from walks import photos as ph
from walks.store import GeoPackageStore

CRS_ = "EPSG:3007"
LAT, LON = 58.9373, 11.1720  # Strömstad


def dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    minutes = (value - d) * 60
    mi = int(minutes)
    return float(d), float(mi), round((minutes - mi) * 60, 4)


def exif_with_gps(lat: float = LAT, lon: float = LON, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.Artist] = "Anna Andersson"  # an owner name in the metadata
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = dms(abs(lat))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = dms(abs(lon))
    return exif


def jpeg(size: tuple[int, int] = (2400, 1200), exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", size, (200, 30, 30))
    im.paste((20, 20, 200), (0, 0, size[0] // 2, size[1] // 2))
    im.save(buf, "JPEG", exif=exif if exif is not None else Image.Exif(), quality=80,
            comment=b"secret comment")
    return buf.getvalue()


def png(mode: str = "RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (50, 40)).save(buf, "PNG")
    return buf.getvalue()


def test_public_copy_has_no_exif_and_gps_is_proposed(tmp_path: Path) -> None:
    data = jpeg(exif=exif_with_gps())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # sanity
    stored = ph.store_photo(data, tmp_path / "photos", CRS_, "IMG_0001.JPG", "image/jpeg")
    # the private original is kept byte for byte (with its EXIF)
    assert stored.path.read_bytes() == data
    assert stored.path == tmp_path / "photos" / f"{stored.sha256}.jpg"
    # the proposal: EXIF lat/lon -> SWEREF 99 12 00, always_xy
    x, y = Transformer.from_crs("EPSG:4326", CRS_, always_xy=True).transform(LON, LAT)
    assert stored.info.gps_lonlat == (pytest.approx(LON, abs=1e-6),
                                      pytest.approx(LAT, abs=1e-6))
    assert stored.proposed_location is not None
    assert stored.proposed_location.x == pytest.approx(x, abs=0.5)
    assert stored.proposed_location.y == pytest.approx(y, abs=0.5)
    assert 6_500_000 < stored.proposed_location.y < 6_600_000  # northing, not swapped
    # the public copy: no EXIF at all, no comment, downscaled
    pub_bytes = stored.public_path.read_bytes()
    assert b"Exif" not in pub_bytes and b"Anna" not in pub_bytes and b"secret" not in pub_bytes
    pub = Image.open(io.BytesIO(pub_bytes))
    assert pub.format == "JPEG"
    assert len(pub.getexif()) == 0 and "exif" not in pub.info and "comment" not in pub.info
    assert max(pub.size) == ph.PUBLIC_MAX_PX and pub.size == (1600, 800)
    assert stored.public_path.parent == tmp_path / "photos" / "public"


def test_public_copy_is_rotated_upright() -> None:
    data = jpeg(size=(300, 100), exif=exif_with_gps(orientation=6))  # 90° clockwise
    pub = Image.open(io.BytesIO(ph.public_copy(data)))
    assert pub.size == (100, 300)


def test_small_photos_are_not_enlarged_and_png_alpha_is_flattened() -> None:
    pub = Image.open(io.BytesIO(ph.public_copy(png("RGBA"))))
    assert pub.size == (50, 40) and pub.mode == "RGB"


def test_no_gps_gives_no_proposal(tmp_path: Path) -> None:
    stored = ph.store_photo(jpeg((20, 20)), tmp_path, CRS_, "a.jpg")
    assert stored.info.gps_lonlat is None and stored.proposed_location is None


@pytest.mark.parametrize("name", [
    "../../etc/passwd.jpg", "..\\..\\windows\\system.jpg", "/etc/passwd.jpg",
    "DCIM/../../../x.jpg", "evil\x00/../../x.jpg", "~/.ssh/authorized_keys.jpg",
])
def test_traversal_names_are_harmless(tmp_path: Path, name: str) -> None:
    photos = tmp_path / "store" / "photos"
    before = set(tmp_path.rglob("*"))
    stored = ph.store_photo(jpeg((30, 30)), photos, CRS_, declared_name=name)
    written = set(tmp_path.rglob("*")) - before
    assert all(photos in p.parents for p in written if p.is_file())
    assert stored.path.parent == photos and stored.path.name == f"{stored.sha256}.jpg"
    assert not (tmp_path / "etc").exists()


def test_photo_path_refuses_non_hashes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        ph.photo_path(tmp_path, "../../etc/passwd", ".jpg")


@pytest.mark.parametrize(("data", "name", "mime", "match"), [
    (png("RGB"), "photo.jpg", None, "content is PNG but the extension .jpg says JPEG"),
    (jpeg((10, 10)), "photo.png", None, "content is JPEG but the extension .png says PNG"),
    (jpeg((10, 10)), "photo", "image/png", "content is JPEG but the type image/png"),
    (jpeg((10, 10)), "photo.jpg", "image/png", "extension says JPEG but the declared type"),
    (b"<?php system($_GET['c']); ?>", "shell.jpg", None, "not a readable image"),
    (b"GIF89a" + b"\x00" * 20, "x.gif", None, "file type .gif is not accepted"),
    (jpeg((10, 10)), "x.exe", None, "file type .exe is not accepted"),
    (jpeg((10, 10)), "x", "text/html", "declared type text/html is not accepted"),
])
def test_wrong_content_type_is_refused(data: bytes, name: str, mime: str | None,
                                       match: str) -> None:
    with pytest.raises(ph.PhotoError, match=match):
        ph.inspect_photo(data, name, mime)


def test_gif_content_without_a_name_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("P", (5, 5)).save(buf, "GIF")
    with pytest.raises(ph.PhotoError, match="content is GIF, not JPEG, PNG or HEIC"):
        ph.inspect_photo(buf.getvalue())


def test_oversize_is_refused_before_reading(tmp_path: Path) -> None:
    data = jpeg((200, 200))
    with pytest.raises(ph.PhotoError, match=r"larger than the limit of 0\.0 MB"):
        ph.inspect_photo(data, "a.jpg", max_bytes=1000)
    big = tmp_path / "big.jpg"
    big.write_bytes(data + b"\x00" * 2_000_000)
    with pytest.raises(ph.PhotoError, match=r"photo is 2\.\d MB, larger than the limit of "
                                            r"1\.0 MB"):
        ph.inspect_photo(big, max_bytes=1_000_000)
    assert ph.DEFAULT_MAX_BYTES == 15 * 1024 * 1024


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ph.PhotoError, match="cannot read the photo file"):
        ph.inspect_photo(tmp_path / "nope.jpg")


@pytest.mark.skipif(not ph.heic_supported(), reason="pillow-heif not installed")
def test_heic_is_accepted_when_pillow_can_read_it(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(buf, "HEIF", exif=exif_with_gps().tobytes())
    stored = ph.store_photo(buf.getvalue(), tmp_path, CRS_, "IMG_0002.HEIC", "image/heic")
    assert stored.info.format == "HEIF" and stored.path.suffix == ".heic"
    assert stored.proposed_location is not None
    pub = Image.open(stored.public_path)
    assert pub.format == "JPEG" and len(pub.getexif()) == 0
    with pytest.raises(ph.PhotoError, match="content is HEIF but the extension .jpg"):
        ph.inspect_photo(buf.getvalue(), "x.jpg")


def test_heic_without_plugin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ph, "heic_supported", lambda: False)
    fake_heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40
    with pytest.raises(ph.PhotoError, match="install pillow-heif"):
        ph.inspect_photo(fake_heic, "a.heic")


def test_store_add_photo_and_attach(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from walks import model as m
    store = GeoPackageStore(tmp_path / "walks.gpkg", CRS_)
    sp = store.add_photo(jpeg((100, 80), exif=exif_with_gps()), "../../x.jpg", "image/jpeg")
    assert store.photos_dir == tmp_path / "photos"
    assert store.photo_file(sp.sha256) == sp.path and sp.path.exists()
    assert store.photo_file(sp.public_sha256, public=True) == sp.public_path
    assert sp.proposed_location is not None
    f = store.add_finding(m.Finding(id=m.new_id(), geometry=sp.proposed_location,
                                    created=datetime(2025, 10, 1, tzinfo=UTC),
                                    category="belysning", channel="app", photos=(sp.sha256,)))
    assert store.findings().loc[f.id, "public_photos"] == [sp.public_sha256]
    with pytest.raises(ValueError, match="unknown photo hash"):
        store.update_finding(f.id, 1, photos=["0" * 64])
    with pytest.raises(KeyError):
        store.photo_file("f" * 64)
