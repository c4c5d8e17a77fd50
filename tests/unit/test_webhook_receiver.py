"""The tests' webhook receiver fails the test that sent it a wrong request, though its handler runs in a thread."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from conftest import TOKEN, Receiver, webhook_receiver


def _post(receiver: Receiver, path: str, content_type: str = "application/json") -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{receiver.server_address[1]}{path}",
        data=json.dumps({"app": "hello"}).encode(),
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  # loopback, a URL of our own
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_post_to_the_webhook_url_is_received() -> None:
    with webhook_receiver() as receiver:
        assert _post(receiver, f"/hooks/{TOKEN}") == 204
        assert receiver.posts == [{"app": "hello"}]


def _send_a_wrong_request(path: str, content_type: str, said: str) -> None:
    """Refused with 400 and raised at the next read (the receiver then raises it again when it stops)."""
    with webhook_receiver() as receiver:
        assert _post(receiver, path, content_type) == 400
        with pytest.raises(AssertionError, match=said):
            receiver.posts  # noqa: B018  # the read is what raises
        assert receiver.received == []


@pytest.mark.parametrize(
    ("path", "content_type", "said"),
    [
        ("/hooks/another-token", "application/json", "POST to '/hooks/another-token'"),
        (f"/hooks/{TOKEN}", "text/plain", "Content-Type 'text/plain'"),
    ],
)
def test_a_wrong_request_fails_the_test_at_the_next_read_and_when_the_receiver_stops(
    path: str, content_type: str, said: str
) -> None:
    with pytest.raises(AssertionError, match=said):
        _send_a_wrong_request(path, content_type, said)
