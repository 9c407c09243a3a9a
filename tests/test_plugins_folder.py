"""plugins/ holds the airkube package, and Airflow's plugin loader must not load it file by file.

Airflow's plugins-folder loader executes every .py file under plugins/ as a top-level module named
after the file (`pod_operator`, `settings`, `validation`, `__init__`, ...): second copies of airkube's
classes, and modules that shadow same-named ones. plugins/.airflowignore keeps it out of airkube/;
the plugin itself is registered through the package's `airflow.plugins` entry point. Moving the
package out of plugins/ would make the ignore file unnecessary, but plugins/ is where the images and
the chart put the library on DAGs' sys.path, so it stays (and this test guards the ignore file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from paths import REPO

PROBE = """
import json, sys
from airflow import plugins_manager
plugins = plugins_manager.get_plugin_info()
print(json.dumps({
    "plugins": [plugin["name"] for plugin in plugins],
    "import_errors": plugins_manager.get_import_errors(),
    "modules": sorted(name for name in sys.modules if "." not in name and name in {NAMES}),
}))
"""


def test_the_plugin_loader_loads_airkube_once_and_none_of_its_files_as_modules(tmp_path):
    names = {path.stem for path in (REPO / "plugins" / "airkube").glob("*.py")}
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins")}
    probe = PROBE.replace("{NAMES}", repr(names))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        # Not the checkout: its airkube.egg-info would make a second distribution of the entry point.
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["plugins"].count("airkube") == 1, loaded["plugins"]
    assert loaded["import_errors"] == {}
    assert loaded["modules"] == [], f"airkube files loaded as top-level modules: {loaded['modules']}"
