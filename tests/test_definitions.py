"""Smoke: every flow imports, and every prefect.yaml entrypoint names a flow that exists."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import yaml
from prefect import Flow

from conftest import REPO


def test_every_flow_module_imports_and_defines_a_flow():
    modules = sorted(p.stem for p in (REPO / "flows").glob("*.py") if p.stem != "__init__")
    assert modules
    for name in modules:
        module = importlib.import_module(f"flows.{name}")
        assert any(isinstance(v, Flow) for v in vars(module).values()), name


def test_every_deployment_entrypoint_resolves_to_a_flow():
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert config["pull"], "an explicit pull step keeps absolute paths out of deployments"
    for deployment in config["deployments"]:
        path, _, attribute = deployment["entrypoint"].partition(":")
        module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
        flow = getattr(module, attribute)
        assert isinstance(flow, Flow), deployment["name"]
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties), deployment["name"]


def test_the_pipeline_flow_stores_plain_parameters_without_importing_fastapi(tmp_path):
    """flows.run_pipeline._plain_parameters: the flow run's parameters as Prefect stores them, without the FastAPI
    import Prefect's own serializer makes (0.3 CPU s of a cold run); another value goes to Prefect's."""
    script = """
import sys
from pathlib import Path
from flows.run_pipeline import run_pipeline
plain = run_pipeline.serialize_parameters({"raw_dir": "data/raw", "home": ".citytrade", "wait_for_lock": True})
print(plain == {"raw_dir": "data/raw", "home": ".citytrade", "wait_for_lock": True}, "fastapi" in sys.modules)
other = run_pipeline.serialize_parameters({"raw_dir": Path("data/raw"), "home": ".citytrade", "wait_for_lock": False})
print(other == {"raw_dir": "data/raw", "home": ".citytrade", "wait_for_lock": False}, "fastapi" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "False", "True", "True"]
