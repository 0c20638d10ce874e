"""What a pass read from ARM is kept for the next passes until it expires, or until the operator writes."""

from __future__ import annotations

import time

from mlops_operator.backends.azureml.endpoint import KEEP_FRACTION
from mlops_operator.backends.azureml.seen import Seen

ENDPOINT = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e"
)


def test_a_reading_is_kept_by_arm_id_case_insensitively() -> None:
    seen: Seen[str] = Seen(ttl=60)
    seen.remember(ENDPOINT, "blue=100")

    assert seen.get(ENDPOINT.upper()) == "blue=100"
    assert seen.get(ENDPOINT.replace("/e", "/other")) is None


def test_a_reading_expires_after_its_time() -> None:
    seen: Seen[str] = Seen(ttl=0.05)
    seen.remember(ENDPOINT, "blue=100")

    time.sleep(0.08)

    assert seen.get(ENDPOINT) is None


def test_a_forgotten_reading_is_gone_before_its_time() -> None:
    seen: Seen[str] = Seen(ttl=60)
    seen.remember(ENDPOINT, "blue=100")

    seen.forget(ENDPOINT)

    assert seen.get(ENDPOINT) is None


def test_an_endpoint_reading_is_kept_between_half_and_all_of_a_resync_period() -> None:
    # Under half, two members resyncing half a period apart would both read; at a whole period, a member's
    # own reading would still be kept at its next resync and the endpoint would go a period unread.
    assert 0.5 <= KEEP_FRACTION < 1.0
