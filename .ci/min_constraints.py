"""Print pip constraints pinning each core dependency to its declared minimum.

``pyproject.toml`` says ``numpy>=1.25``; this prints ``numpy==1.25``, so that
``.ci/run`` can test the oldest releases we claim to support.
"""

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    sys.exit("python 3.11 or later is needed to read pyproject.toml here")

root = Path(__file__).resolve().parent.parent
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
for requirement in project["dependencies"]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*", requirement)
    if match is None:
        sys.exit(f"core dependency without a plain lower bound: {requirement!r}")
    print(f"{match[1]}=={match[2]}.*")
