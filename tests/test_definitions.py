"""Smoke: every flow imports, and every prefect.yaml entrypoint names a flow that exists."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

from conftest import REPO


# Modules of flows/ that hold what a flow runs, not a flow: parse_pool is apart so that a parse worker imports little.
FLOW_HELPERS = {"parse_pool"}


def test_every_flow_module_imports_and_defines_a_flow():
    modules = sorted(p.stem for p in (REPO / "flows").glob("*.py") if p.stem not in {"__init__", *FLOW_HELPERS})
    assert modules
    for name in modules:
        module = importlib.import_module(f"flows.{name}")
        assert any(isinstance(v, Flow) for v in vars(module).values()), name
    for name in FLOW_HELPERS:
        assert importlib.import_module(f"flows.{name}").parse_releases.name == "parse releases"


def test_every_deployment_entrypoint_resolves_to_a_flow():
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert config["pull"], "an explicit pull step keeps absolute paths out of deployments"
    for deployment in config["deployments"]:
        path, _, attribute = deployment["entrypoint"].partition(":")
        module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
        flow = getattr(module, attribute)
        assert isinstance(flow, Flow), deployment["name"]
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties), deployment["name"]
