"""Medborgarlöften: the promise register, the activity log, progress and the yearly report.

Data flows one way: ``layers → gis → walks → promises → app``. This package may use
:mod:`walks`, :mod:`gis` and :mod:`layers`; none of them imports it, and it never imports
Streamlit.

* :mod:`promises.register` – the promises of a period as data (TOML), validated;
* :mod:`promises.activities` – the activity log (CSV), its import and validation;
* :mod:`promises.snapshots` – ranking snapshots of two lighting inventories;
* :mod:`promises.progress` – the measures and the status badges;
* :mod:`promises.report` – the public yearly report (HTML/PDF), with
  :mod:`promises.charts` for the charts and maps and :mod:`promises.demo` for the demo walks.
"""

from promises.activities import Activity, ActivityLog, activity_log_path, open_activity_log
from promises.progress import PromiseProgress, Status, compute_progress, promise_status
from promises.register import Promise, Register, find_register, load_register

__all__ = ["Activity", "ActivityLog", "Promise", "PromiseProgress", "Register", "Status",
           "activity_log_path", "compute_progress", "find_register", "load_register",
           "open_activity_log", "promise_status"]
