"""Every YAML block in README.md is a complete scenario that the command line plans as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```yaml\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"),
                    flags=re.S | re.M)


def test_the_readme_has_yaml_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_yaml_block_runs_in_the_cli(block, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(block, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "planner", "plan", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"README block fails:\n{block}\n{proc.stderr[-2000:]}"
