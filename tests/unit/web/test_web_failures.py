"""gRPC status -> HTTP status and the message a shopper sees."""

from __future__ import annotations

import grpc
import pytest

from testbed.shop.web.failures import ServiceFailure

pytestmark = pytest.mark.unit


def failure(code: grpc.StatusCode, details: str = "", service: str = "product") -> ServiceFailure:
    return ServiceFailure(service, "GetProduct", code, details)


@pytest.mark.parametrize(
    "code,status",
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 503),
        (grpc.StatusCode.INTERNAL, 502),
        (grpc.StatusCode.UNKNOWN, 502),
    ],
)
def test_http_status(code: grpc.StatusCode, status: int) -> None:
    assert failure(code).http_status == status


def test_invalid_argument_shows_the_field_message() -> None:
    assert failure(grpc.StatusCode.INVALID_ARGUMENT, "quantity: must be between 1 and 99").user_message() == "quantity: must be between 1 and 99"


def test_outage_names_the_service_and_is_flagged() -> None:
    f = failure(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; last error: ...", service="cart")
    assert f.is_outage
    assert "cart service is not answering" in f.user_message()
    assert "addresses" not in f.user_message()


def test_internal_details_are_never_shown() -> None:
    message = failure(grpc.StatusCode.INTERNAL, "Traceback (most recent call last): sqlite3.OperationalError").user_message()
    assert "Traceback" not in message and "sqlite" not in message
    assert message == "The catalogue service failed to handle the request."


def test_long_caller_details_are_clipped_and_flattened() -> None:
    message = failure(grpc.StatusCode.INVALID_ARGUMENT, "name:\n" + "x" * 1000).user_message()
    assert len(message) == 300 and "\n" not in message


def test_empty_caller_details_get_a_generic_sentence() -> None:
    assert failure(grpc.StatusCode.FAILED_PRECONDITION, "", service="order").user_message() == "The order service refused the request."


def test_from_rpc_error_reads_code_and_details() -> None:
    class FakeCall(grpc.RpcError, grpc.Call):  # type: ignore[misc]
        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.NOT_FOUND

        def details(self) -> str:
            return "no product p9"

        def initial_metadata(self): ...  # type: ignore[no-untyped-def]
        def trailing_metadata(self): ...  # type: ignore[no-untyped-def]
        def is_active(self): ...  # type: ignore[no-untyped-def]
        def time_remaining(self): ...  # type: ignore[no-untyped-def]
        def cancel(self): ...  # type: ignore[no-untyped-def]
        def add_callback(self, callback): ...  # type: ignore[no-untyped-def]

    f = ServiceFailure.from_rpc_error("product", "GetProduct", FakeCall())
    assert (f.code, f.details, f.http_status) == (grpc.StatusCode.NOT_FOUND, "no product p9", 404)


def test_field_named_by_invalid_argument_lands_on_that_field() -> None:
    f = failure(grpc.StatusCode.INVALID_ARGUMENT, "card_number: fails the Luhn check", service="payment")
    assert f.field == "card_number"
    assert f.form_errors(("card_number", "cardholder_name"), fallback="checkout") == {"card_number": "card_number: fails the Luhn check"}
    assert f.form_errors(("email",), fallback="form") == {"form": "card_number: fails the Luhn check"}


def test_only_invalid_argument_names_a_field() -> None:
    assert failure(grpc.StatusCode.FAILED_PRECONDITION, "cart: is empty").field == ""
