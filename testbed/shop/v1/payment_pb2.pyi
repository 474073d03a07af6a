import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentInfo(_message.Message):
    __slots__ = ("id", "user_id", "last4", "brand", "cardholder_name", "expiry_month", "expiry_year", "token", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LAST4_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    CARDHOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_YEAR_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    last4: str
    brand: str
    cardholder_name: str
    expiry_month: int
    expiry_year: int
    token: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., last4: _Optional[str] = ..., brand: _Optional[str] = ..., cardholder_name: _Optional[str] = ..., expiry_month: _Optional[int] = ..., expiry_year: _Optional[int] = ..., token: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePaymentInfoRequest(_message.Message):
    __slots__ = ("user_id", "card_number", "cardholder_name", "expiry_month", "expiry_year")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CARDHOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_YEAR_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    card_number: str
    cardholder_name: str
    expiry_month: int
    expiry_year: int
    def __init__(self, user_id: _Optional[str] = ..., card_number: _Optional[str] = ..., cardholder_name: _Optional[str] = ..., expiry_month: _Optional[int] = ..., expiry_year: _Optional[int] = ...) -> None: ...

class GetPaymentInfoRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeletePaymentInfoRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListPaymentInfosRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListPaymentInfosResponse(_message.Message):
    __slots__ = ("payment_infos",)
    PAYMENT_INFOS_FIELD_NUMBER: _ClassVar[int]
    payment_infos: _containers.RepeatedCompositeFieldContainer[PaymentInfo]
    def __init__(self, payment_infos: _Optional[_Iterable[_Union[PaymentInfo, _Mapping]]] = ...) -> None: ...
