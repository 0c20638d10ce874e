"""`mlopsctl promote` plans every step to sum to 100 and prints the patches in a GitOps-ready order."""

from __future__ import annotations

import argparse

import pytest
import yaml

from mlops_operator.cli.promote import PlanError, changes, in_force, patch_documents, plan, print_patches, step_list

BLUE_ONLY = {"blue": 100, "green": 0}


def test_a_blue_green_shift_moves_the_rest_to_the_old_deployment() -> None:
    assert plan(BLUE_ONLY, "green", [10, 50, 100]) == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 0, "green": 100},
    ]


def test_the_rest_is_shared_in_proportion_and_still_sums_to_100() -> None:
    splits = plan({"a": 50, "b": 25, "c": 25, "new": 0}, "new", [33, 100])
    assert splits[0] == {"a": 33, "b": 17, "c": 17, "new": 33}  # 33.5, 16.75, 16.75: largest remainders
    assert all(sum(split.values()) == 100 for split in splits)


def test_steps_already_reached_are_skipped() -> None:
    assert plan({"blue": 50, "green": 50}, "green", [10, 50, 100]) == [{"blue": 0, "green": 100}]
    assert plan({"blue": 0, "green": 100}, "green", [10, 50, 100]) == []


def test_an_endpoint_without_traffic_can_only_jump_to_100() -> None:
    with pytest.raises(PlanError, match="use --steps 100"):
        plan({"blue": 0, "green": 0}, "green", [10, 100])
    assert plan({"blue": 0, "green": 0}, "green", [100]) == [{"blue": 0, "green": 100}]


def test_a_split_that_does_not_sum_to_0_or_100_is_fixed_first() -> None:
    with pytest.raises(PlanError, match="sums to 120"):
        plan({"blue": 100, "green": 20}, "green", [50])


def test_an_unknown_target_names_the_members() -> None:
    with pytest.raises(PlanError, match="members: blue, green"):
        plan(BLUE_ONLY, "red", [100])


def test_decreases_are_patched_before_increases() -> None:
    assert list(changes({"blue": 90, "green": 10}, {"blue": 50, "green": 50})) == ["blue", "green"]
    assert list(changes({"a": 0, "b": 100}, {"a": 100, "b": 0})) == ["b", "a"]


def test_printed_patches_are_partial_model_deployments_per_step() -> None:
    steps = patch_documents(BLUE_ONLY, plan(BLUE_ONLY, "green", [10, 100]), "models", {"green": 20})
    text = print_patches(steps)
    assert text.splitlines()[0] == "# step 1 of 2: blue=90, green=10"
    assert "# step 2 of 2: blue=0, green=100" in text
    documents = list(yaml.safe_load_all(text))
    assert documents == [
        {"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment",
         "metadata": {"name": "blue", "namespace": "models"}, "spec": {"traffic": 90}},
        {"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment",
         "metadata": {"name": "green", "namespace": "models"}, "spec": {"traffic": 10, "mirrorTraffic": 0}},
        {"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment",
         "metadata": {"name": "blue", "namespace": "models"}, "spec": {"traffic": 0}},
        {"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment",
         "metadata": {"name": "green", "namespace": "models"}, "spec": {"traffic": 100, "mirrorTraffic": 0}},
    ]  # fmt: skip


def member(name: str, applied: str, traffic: dict[str, int], severity: str = "") -> dict[str, object]:
    condition = {"type": "TrafficApplied", "status": applied, "reason": "R", "message": "m", "severity": severity}
    return {
        "metadata": {"name": name, "generation": 1},
        "status": {"observedGeneration": 1, "conditions": [condition], "traffic": traffic},
    }


def test_a_step_is_in_force_when_every_member_applied_that_split() -> None:
    split = {"blue": 90, "green": 10}
    assert in_force([member("blue", "True", split), member("green", "True", split)], split)[0]
    assert not in_force([member("blue", "True", {"blue": 100, "green": 0})], split)[0]
    assert in_force([member("blue", "False", split, "Error")], split) == (
        False,
        "blue: TrafficApplied=False R: m",
        True,
    )


@pytest.mark.parametrize("text", ["50,10", "0,100", "10,101", "ten", ""])
def test_steps_must_be_increasing_percentages(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        step_list(text)
