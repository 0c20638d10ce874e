"""`mlopsctl smoke` summarises latencies and fails on a wrong status, a wrong pin or a short run."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from mlops_operator.cli import resources as res
from mlops_operator.cli.smoke import PIN_HEADER, Results, percentiles, send, verdict


def test_percentiles_of_a_hundred_samples() -> None:
    stats = percentiles([float(ms) for ms in range(1, 101)])
    assert stats == {"p50": 50.5, "p90": 90.1, "p99": 99.01, "max": 100.0}


def test_one_sample_is_every_percentile_and_none_is_no_percentile() -> None:
    assert percentiles([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "max": 7.0}
    assert percentiles([]) == {}


def results(statuses: dict[str, int], answered_by: dict[str, int], sent: int) -> Results:
    return Results(latencies=[1.0] * sent, statuses=statuses, answered_by=answered_by)


def test_every_request_with_the_expected_status_passes() -> None:
    assert verdict(results({"200": 3}, {"blue": 3}, 3), 200, 3, None) == (res.EXIT_OK, "3 request(s), all 200")


def test_any_other_status_or_a_connection_error_fails() -> None:
    assert verdict(results({"200": 2, "503": 1}, {"blue": 3}, 3), 200, 3, None)[0] == res.EXIT_FAILED
    assert verdict(results({"ConnectionRefusedError": 1}, {}, 0), 200, 1, None)[0] == res.EXIT_FAILED


def test_a_pinned_request_answered_by_another_deployment_fails() -> None:
    code, reason = verdict(results({"200": 2}, {"blue": 1, "green": 1}, 2), 200, 2, "green")
    assert code == res.EXIT_FAILED
    assert reason == "pinned to green but answered by {'blue': 1, 'green': 1}"


def test_requests_that_did_not_fit_in_the_time_limit_time_out() -> None:
    short = Results(latencies=[1.0], statuses={"200": 1}, timed_out=True)
    assert verdict(short, 200, 5, None)[0] == res.EXIT_TIMEOUT


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers 200 naming the deployment the request was pinned to, like the scoring server does."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200 if self.headers["Authorization"] == "Bearer k" else 401)
        self.send_header(PIN_HEADER, self.headers.get(PIN_HEADER, "blue"))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/score"
    httpd.shutdown()
    httpd.server_close()


def test_send_posts_the_body_with_the_key_and_the_pin(server: str) -> None:
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json", PIN_HEADER: "green"}
    got = send(server, headers, b'{"data": [[1]]}', requests=3, timeout=10)
    assert (got.statuses, got.answered_by, got.last_body) == ({"200": 3}, {"green": 3}, '{"data": [[1]]}')
    assert len(got.latencies) == 3


def test_send_stops_at_the_deadline(server: str) -> None:
    got = send(server, {"Authorization": "Bearer k"}, b"{}", requests=1000, timeout=0)
    assert got.timed_out
    assert not got.latencies
