"""The app launcher (ui.serve): preload, then ``streamlit run``."""

import subprocess
import sys

from ui import serve


def test_streamlit_argv_defaults_to_repo_app_and_keeps_options():
    assert serve.streamlit_argv(["--server.port", "1"]) == [
        "streamlit", "run", str(serve.ROOT / "app.py"), "--server.port", "1"]
    assert serve.streamlit_argv(["other.py", "--x"]) == ["streamlit", "run", "other.py", "--x"]


def test_preload_imports_the_heavy_modules_but_not_streamlit_folium():
    # In a fresh interpreter: streamlit-folium must not be imported before a script run
    # (it registers its component only inside one), everything on the list must be.
    code = ("import sys; from ui import serve; serve.preload(); "
            "missing = [m for m in serve.PRELOAD if m not in sys.modules]; "
            "print(missing, 'streamlit_folium' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=serve.ROOT).stdout.strip()
    assert out == "[] False"


def test_preload_logs_and_skips_a_missing_module(caplog):
    seconds = serve.preload(("json", "no_such_module_trygga"))
    assert seconds >= 0
    assert "no_such_module_trygga" in caplog.text
