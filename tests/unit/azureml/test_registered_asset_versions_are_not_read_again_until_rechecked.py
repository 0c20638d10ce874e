"""Asset versions are immutable in Azure ML: seen once, a resync does not read them again until the recheck."""

from __future__ import annotations

import time

from mlops_operator.backends.azureml.assets import RegisteredAssets

WORKSPACE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
MODEL = f"{WORKSPACE}/models/m/versions/1"


def test_a_remembered_version_is_known_case_insensitively_and_others_are_not() -> None:
    assets = RegisteredAssets()
    assets.remember(MODEL)

    assert assets.known(MODEL.upper())
    assert not assets.known(MODEL.replace("versions/1", "versions/2"))


def test_a_remembered_version_is_read_again_after_the_recheck_time() -> None:
    assets = RegisteredAssets(ttl=0.05)
    assets.remember(MODEL)
    assert assets.known(MODEL)

    time.sleep(0.08)

    assert not assets.known(MODEL)
