"""Helpers the deploy tests share: SAM expansion offline, and the fake S3 location of the code."""

from __future__ import annotations

import copy
from typing import Any

TEST_BUCKET = "onair-deploy-test"
CODE_KEY = "onair/deployment.zip"


class NoManagedPolicies:
    """aws-sam-translator asks IAM for AWS managed policy ARNs; the template uses none, so nothing to load."""

    def load(self) -> dict[str, str]:
        return {}


def sam_translate(template: dict[str, Any]) -> dict[str, Any]:
    """What CloudFormation's AWS::Serverless-2016-10-31 transform does, locally and offline."""
    from samtranslator.translator.transform import transform

    return transform(copy.deepcopy(template), {}, NoManagedPolicies())
