"""The domain core stays pure: stdlib only, no framework imports."""

from __future__ import annotations

import ast
from pathlib import Path

import stream.domain

FORBIDDEN = ("faust", "mode", "kafka", "aiokafka", "prometheus_client", "orjson", "aiohttp")


def test_domain__imports_no_framework() -> None:
    root = Path(stream.domain.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert len(list(root.rglob("*.py"))) >= 8
