"""How dark the school commute is, month by month.

The sun's elevation comes from the NOAA solar position algorithm (the equations of the
NOAA Solar Calculator spreadsheet, after Meeus, *Astronomical Algorithms*), vectorised
with numpy over every commute minute of a year: a year takes a few milliseconds. It agrees
with :func:`astral.sun.elevation` (``with_refraction=False``) to well under 0.1 degree.
Elevations are geometric (no atmospheric refraction), as used in the definition of civil
twilight (sun 6 degrees below the horizon).

Times are local wall-clock times in an IANA time zone, converted with :mod:`zoneinfo`
(daylight saving aware). Latitude and longitude are in degrees (WGS 84); nothing here
measures distances, so no CRS applies (:func:`commute_darkness_by_school` takes school
grounds in any CRS and uses their centroids in degrees).

Two views: :func:`commute_darkness_by_month` gives the share of fixed commute windows that
is dark for one reference point (the kommun); :func:`commute_darkness_by_school` gives the
dark hours per school day for each school, from its own start and end times.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Default school commute windows, local time: morning and afternoon.
COMMUTE_WINDOWS: tuple[tuple[str, str], ...] = (("07:15", "08:15"), ("14:30", "17:00"))

#: Sun elevation in degrees below which it counts as dark (end of civil twilight).
CIVIL_TWILIGHT_DEG = -6.0

#: Windows starting before this local time (minutes after midnight) are "morning".
_NOON_MIN = 12 * 60

_UNIX_EPOCH_JD = 2440587.5
_J2000_JD = 2451545.0


def solar_elevation_deg(times_utc: np.ndarray | pd.DatetimeIndex | Sequence[dt.datetime],
                        latitude: float, longitude: float) -> np.ndarray:
    """Geometric solar elevation angle in degrees (NOAA algorithm, no refraction).

    Parameters
    ----------
    times_utc : array-like of datetime64 or DatetimeIndex
        Instants in UTC. Naive values are taken as UTC; tz-aware ones are converted.
    latitude, longitude : float
        Observer position in degrees (WGS 84), north and east positive.

    Returns
    -------
    numpy.ndarray
        Elevation in degrees (negative below the horizon), one per instant.

    Examples
    --------
    >>> import numpy as np
    >>> e = solar_elevation_deg(np.array(["2025-06-21T11:15"], dtype="datetime64[m]"),
    ...                         58.937, 11.172)
    >>> round(float(e[0]), 1)  # Strömstad, midsummer, around local solar noon
    54.5
    """
    idx = pd.DatetimeIndex(cast(Any, times_utc))
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    ms = idx.as_unit("ms").asi8.astype(np.float64)  # milliseconds since 1970-01-01 UTC
    days_unix = ms / 86_400e3
    jd = days_unix + _UNIX_EPOCH_JD
    jc = (jd - _J2000_JD) / 36525.0
    minutes_utc = (days_unix - np.floor(days_unix)) * 1440.0

    mean_long = np.mod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0)
    mean_anom = np.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (np.sin(mean_anom) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
              + np.sin(2 * mean_anom) * (0.019993 - 0.000101 * jc)
              + np.sin(3 * mean_anom) * 0.000289)
    omega = np.radians(125.04 - 1934.136 * jc)
    app_long = np.radians(mean_long + centre - 0.00569 - 0.00478 * np.sin(omega))
    mean_obliq = 23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813)))
                         / 60.0) / 60.0
    obliq = np.radians(mean_obliq + 0.00256 * np.cos(omega))
    declination = np.arcsin(np.sin(obliq) * np.sin(app_long))
    y = np.tan(obliq / 2) ** 2
    l0 = np.radians(mean_long)
    eq_time_min = 4 * np.degrees(
        y * np.sin(2 * l0) - 2 * ecc * np.sin(mean_anom)
        + 4 * ecc * y * np.sin(mean_anom) * np.cos(2 * l0)
        - 0.5 * y * y * np.sin(4 * l0) - 1.25 * ecc * ecc * np.sin(2 * mean_anom))
    true_solar_min = np.mod(minutes_utc + eq_time_min + 4 * longitude, 1440.0)
    hour_angle = np.radians(true_solar_min / 4 - 180.0)
    lat = np.radians(latitude)
    cos_zenith = (np.sin(lat) * np.sin(declination)
                  + np.cos(lat) * np.cos(declination) * np.cos(hour_angle))
    return 90.0 - np.degrees(np.arccos(np.clip(cos_zenith, -1.0, 1.0)))


def _minutes(text: str) -> int:
    try:
        t = dt.time.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"commute time {text!r} is not HH:MM. Fix: write e.g. '07:15'") from None
    return t.hour * 60 + t.minute


def _utc_offsets_min(local: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """UTC offset in minutes of local wall-clock times (datetime64[m]), DST aware.

    Offsets are looked up per day (start and end of day); only the few days with a
    daylight-saving change are looked up time by time. Nonexistent or repeated local
    times take the offset in force before the change (``fold=0``).
    """
    def offset(t: np.datetime64) -> float:
        d = t.astype("datetime64[m]").astype(dt.datetime).replace(tzinfo=tz)
        return d.utcoffset().total_seconds() / 60.0  # type: ignore[union-attr]

    days = local.astype("datetime64[D]")
    uniq, inverse = np.unique(days, return_inverse=True)
    start = np.array([offset(d.astype("datetime64[m]")) for d in uniq])
    end = np.array([offset(d.astype("datetime64[m]") + np.timedelta64(1439, "m"))
                    for d in uniq])
    out = start[inverse]
    changed = (start != end)[inverse]
    if changed.any():
        out[changed] = [offset(t) for t in local[changed]]
    return out


def commute_darkness_by_month(latitude: float, longitude: float,
                              timezone: str = "Europe/Stockholm", year: int = 2025,
                              windows: Sequence[tuple[str, str]] = COMMUTE_WINDOWS,
                              sun_threshold_deg: float = CIVIL_TWILIGHT_DEG,
                              step_min: float = 5) -> pd.DataFrame:
    """Share of the school commute that is dark, per month.

    Every school day (Monday–Friday; holidays are not removed) of ``year`` each commute
    window is cut into equal steps of about ``step_min`` minutes; a step counts as dark
    when the sun's geometric elevation at its middle is below ``sun_threshold_deg``.

    Parameters
    ----------
    latitude, longitude : float
        Place in degrees (WGS 84), e.g. Strömstad 58.937, 11.172 (``Profile.latitude`` /
        ``Profile.longitude``).
    timezone : str, default "Europe/Stockholm"
        IANA time zone of the window times (``Profile.timezone``).
    year : int, default 2025
    windows : sequence of (start, end)
        Commute windows as local ``"HH:MM"`` times. Windows starting before 12:00 are
        morning windows, the others afternoon windows.
    sun_threshold_deg : float, default -6.0
        Sun elevation in degrees below which it is dark (-6 = civil twilight).
    step_min : float, default 5
        Sampling step in minutes.

    Returns
    -------
    DataFrame
        Indexed by ``month`` 1–12, columns ``share_dark`` (all windows),
        ``share_dark_morning`` and ``share_dark_afternoon``: shares 0–1 of commute
        minutes that are dark (NaN when there is no window of that kind).

    Raises
    ------
    ValueError
        For an unknown time zone, a malformed or empty window, or a non-positive step.

    Examples
    --------
    >>> d = commute_darkness_by_month(58.937, 11.172)
    >>> float(d.loc[6, "share_dark"])
    0.0
    """
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}. Fix: use an IANA name such as "
                         "'Europe/Stockholm'") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"latitude/longitude ({latitude}, {longitude}) out of range. Fix: "
                         "give the place in degrees WGS 84")
    if not step_min > 0:
        raise ValueError(f"step_min must be positive, got {step_min!r}")
    if len(windows) == 0:
        raise ValueError("no commute windows given. Fix: give e.g. (('07:15', '08:15'),)")

    # Sample offsets (minutes after midnight), their widths and whether they are morning.
    sample_min, width, morning = [], [], []
    for start_txt, end_txt in windows:
        start, end = _minutes(start_txt), _minutes(end_txt)
        if end <= start:
            raise ValueError(f"commute window {start_txt}–{end_txt} ends before it starts. "
                             "Fix: give (start, end) within one day")
        n = max(1, round((end - start) / step_min))
        w = (end - start) / n
        sample_min.append(start + w * (np.arange(n) + 0.5))
        width.append(np.full(n, w))
        morning.append(np.full(n, start < _NOON_MIN))
    offs = np.concatenate(sample_min)
    widths = np.concatenate(width)
    is_morning = np.concatenate(morning)

    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    days = days[weekday < 5]
    local = (days.astype("datetime64[s]")[:, None]
             + np.rint(offs * 60).astype("timedelta64[s]")[None, :])
    local_m = local.astype("datetime64[m]").ravel()
    utc = local.ravel() - (_utc_offsets_min(local_m, tz) * 60).astype("timedelta64[s]")
    dark = (solar_elevation_deg(utc, latitude, longitude) < sun_threshold_deg
            ).reshape(len(days), len(offs))

    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1

    def share(mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return np.full(12, np.nan)
        dark_min = (dark[:, mask] * widths[mask]).sum(axis=1)
        total = np.bincount(month, minlength=13)[1:] * widths[mask].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(month, weights=dark_min, minlength=13)[1:] / total

    all_windows = np.ones(len(offs), dtype=bool)
    out = pd.DataFrame({
        "share_dark": share(all_windows),
        "share_dark_morning": share(is_morning),
        "share_dark_afternoon": share(~is_morning),
    }, index=pd.RangeIndex(1, 13, name="month"))
    logger.debug("commute darkness %s: %d school days, %d samples a day", year, len(days),
                 len(offs))
    return out


def school_commute_windows(start: str, end: str, travel_min: float = 30.0
                           ) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two commute windows of a school day: the *travel_min* minutes before *start*
    and after *end* (local ``"HH:MM"``).

    >>> school_commute_windows("08:10", "14:20", 25)
    (('07:45', '08:10'), ('14:20', '14:45'))
    """
    s, e = _minutes(start), _minutes(end)
    if e <= s:
        raise ValueError(f"school day {start}–{end} ends before it starts. Fix: give start "
                         "and end within one day")
    if not 0 < travel_min <= 180:
        raise ValueError(f"travel_min {travel_min!r} is not in (0, 180] minutes")
    t = int(round(travel_min))
    if s - t < 0 or e + t > 24 * 60 - 1:
        raise ValueError(f"the commute around {start}–{end} leaves the day")

    def hhmm(m: int) -> str:
        return f"{m // 60:02d}:{m % 60:02d}"

    return (hhmm(s - t), start), (end, hhmm(e + t))


def commute_darkness_by_school(schools: pd.DataFrame, timezone: str = "Europe/Stockholm",
                               year: int = 2025, *,
                               sun_threshold_deg: float = CIVIL_TWILIGHT_DEG,
                               step_min: float = 5) -> pd.DataFrame:
    """Dark commute hours per school day, per school and month.

    Each school has its own morning window (``travel_min`` minutes before ``start``) and
    afternoon window (``travel_min`` after ``end``, :func:`school_commute_windows`) at its
    own position. Every school day (Monday–Friday; holidays are not removed) each window is
    cut into steps of about ``step_min`` minutes; a step is dark when the sun's geometric
    elevation at its middle is below ``sun_threshold_deg``. All schools are computed in
    one vectorised pass.

    Parameters
    ----------
    schools : DataFrame
        One row per school, any index (e.g. the school name), with ``latitude`` and
        ``longitude`` in degrees (WGS 84) and ``start``, ``end`` (local ``"HH:MM"``) and
        ``travel_min`` (minutes). :func:`school_day_table` builds it from the school layer
        and the profile.
    timezone : str
        IANA time zone of the times (``Profile.timezone``).
    year : int
    sun_threshold_deg : float
        Sun elevation in degrees below which it is dark (-6 = civil twilight).
    step_min : float
        Sampling step in minutes.

    Returns
    -------
    DataFrame
        MultiIndex (``schools``' index, ``month`` 1–12); columns ``dark_morning_h``,
        ``dark_afternoon_h`` and ``dark_h``: mean hours of darkness per school day of the
        month on the way to school, back, and both; ``commute_h``: the commute hours per
        day (both windows). Schools keep the input order.

    Raises
    ------
    ValueError
        Unknown time zone, a malformed school day, a position out of range, a
        non-positive step, or missing columns (naming the school).
    """
    missing = [c for c in ("latitude", "longitude", "start", "end", "travel_min")
               if c not in schools.columns]
    if missing:
        raise ValueError(f"schools frame lacks {', '.join(missing)}. Fix: build it with "
                         "school_day_table()")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}. Fix: use an IANA name such as "
                         "'Europe/Stockholm'") from None
    if not step_min > 0:
        raise ValueError(f"step_min must be positive, got {step_min!r}")
    lat_s = schools["latitude"].to_numpy(dtype=float)
    lon_s = schools["longitude"].to_numpy(dtype=float)
    bad = ~((np.abs(lat_s) <= 90) & (np.abs(lon_s) <= 180))
    if bad.any():
        raise ValueError(f"school {schools.index[int(np.argmax(bad))]!r}: position out of "
                         "range. Fix: give latitude/longitude in degrees WGS 84")
    offs, widths, morning, owner = [], [], [], []
    for i, (name, start, end, travel) in enumerate(zip(
            schools.index, schools["start"], schools["end"], schools["travel_min"],
            strict=True)):
        try:
            windows = school_commute_windows(str(start), str(end), float(travel))
        except ValueError as exc:
            raise ValueError(f"school {name!r}: {exc}") from None
        for w_start, w_end in windows:
            a, b = _minutes(w_start), _minutes(w_end)
            n = max(1, round((b - a) / step_min))
            w = (b - a) / n
            offs.append(a + w * (np.arange(n) + 0.5))
            widths.append(np.full(n, w))
            morning.append(np.full(n, a < _NOON_MIN))
            owner.append(np.full(n, i))
    off = np.concatenate(offs) if offs else np.zeros(0)
    width = np.concatenate(widths) if widths else np.zeros(0)
    is_morning = np.concatenate(morning) if morning else np.zeros(0, dtype=bool)
    school_of = np.concatenate(owner) if owner else np.zeros(0, dtype=np.int64)

    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    days = days[(days.astype(np.int64) + 3) % 7 < 5]
    local = (days.astype("datetime64[s]")[:, None]
             + np.rint(off * 60).astype("timedelta64[s]")[None, :])
    local_m = local.astype("datetime64[m]").ravel()
    utc = local.ravel() - (_utc_offsets_min(local_m, tz) * 60).astype("timedelta64[s]")
    lat = np.broadcast_to(lat_s[school_of][None, :], local.shape).ravel()
    lon = np.broadcast_to(lon_s[school_of][None, :], local.shape).ravel()
    dark = (solar_elevation_deg(utc, lat, lon) < sun_threshold_deg  # type: ignore[arg-type]
            ).reshape(len(days), len(off))
    dark_min = dark * width[None, :]
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    n_days = np.bincount(month, minlength=13)[1:].astype(float)

    def per_school(mask: np.ndarray) -> np.ndarray:
        """(school, month) mean dark hours per school day over the samples in *mask*."""
        out = np.zeros((len(schools), 12))
        for k in range(len(schools)):  # a handful of schools; the samples are vectorised
            cols = mask & (school_of == k)
            per_day = dark_min[:, cols].sum(axis=1)
            out[k] = np.bincount(month, weights=per_day, minlength=13)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            return out / n_days[None, :] / 60.0

    all_samples = np.ones(len(off), dtype=bool)
    morning_h = per_school(is_morning)
    afternoon_h = per_school(~is_morning)
    commute_h = np.array([width[school_of == k].sum() / 60.0 for k in range(len(schools))])
    index = pd.MultiIndex.from_arrays(
        [np.repeat(schools.index.to_numpy(), 12), np.tile(np.arange(1, 13), len(schools))],
        names=[schools.index.name or "school", "month"])
    result = pd.DataFrame({
        "dark_morning_h": morning_h.ravel(), "dark_afternoon_h": afternoon_h.ravel(),
        "dark_h": per_school(all_samples).ravel(),
        "commute_h": np.repeat(commute_h, 12)}, index=index)
    logger.debug("commute darkness per school %s: %d schools, %d school days", year,
                 len(schools), len(days))
    return result


def school_day_table(schools: Any, school_day: Any) -> pd.DataFrame:
    """The input of :func:`commute_darkness_by_school` from a school layer and a profile.

    Parameters
    ----------
    schools : GeoDataFrame
        School grounds (``layers.schools``) in a projected CRS, with ``name``.
    school_day : callable
        ``name -> (start, end, travel_min)``, e.g. :meth:`layers.profile.Profile.school_day`.

    Returns
    -------
    DataFrame
        Index ``school`` (the school names, in layer order; duplicates keep the first),
        columns ``latitude``, ``longitude`` (centroid in degrees WGS 84), ``start``,
        ``end``, ``travel_min``.
    """
    if schools is None or len(schools) == 0:
        return pd.DataFrame(columns=["latitude", "longitude", "start", "end", "travel_min"],
                            index=pd.Index([], name="school"))
    if schools.crs is None or not schools.crs.is_projected:
        raise ValueError("schools must be in a projected (metric) CRS to take centroids. "
                         "Fix: pass the school layer as loaded (profile CRS)")
    pts = schools.geometry.centroid.to_crs("EPSG:4326")
    names = schools["name"].astype(str).to_numpy()
    days = [school_day(n) for n in names]
    frame = pd.DataFrame({
        "latitude": pts.y.to_numpy(), "longitude": pts.x.to_numpy(),
        "start": [d[0] for d in days], "end": [d[1] for d in days],
        "travel_min": [float(d[2]) for d in days]}, index=pd.Index(names, name="school"))
    return frame.loc[~frame.index.duplicated()]
