"""The packaged template, built once per session offline (zip without dependencies), and its SAM form."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import CODE_KEY, TEST_BUCKET, sam_translate


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package`'s output, with the code zip left without dependencies so no network is needed."""
    from infra.package import package

    out = tmp_path_factory.mktemp("dist")
    package(out, stage="prod", dependencies=False)
    return out


@pytest.fixture(scope="session")
def sam_template(dist: Path) -> dict[str, Any]:
    return yaml.safe_load((dist / "sam.yaml").read_text())


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The packaged template with its code in S3 (as `make deploy` rewrites it), expanded by SAM."""
    from infra.deploy import rewrite_code_uri

    template = copy.deepcopy(sam_template)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert rewrite_code_uri(template, TEST_BUCKET, CODE_KEY) == len(functions) > 0
    return sam_translate(template)
