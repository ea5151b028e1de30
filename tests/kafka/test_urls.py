"""Broker URL parsing: what operators paste in, and clear errors for what is wrong."""

from __future__ import annotations

import re

import pytest

from stream.kafka.urls import format_broker_url, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("kafka://localhost:9092", ["localhost:9092"]),
        ("kafka://k1:9092,k2:9093", ["k1:9092", "k2:9093"]),
        ("k1:9092,k2:9093", ["k1:9092", "k2:9093"]),
        ("127.0.0.1:19092", ["127.0.0.1:19092"]),
        ("KAFKA://Broker-1.example.com:9092/", ["Broker-1.example.com:9092"]),
        ("kafka://k1:9092;kafka://k2:9092", ["k1:9092", "k2:9092"]),
        (" kafka://k1:9092 , k2:9092 ", ["k1:9092", "k2:9092"]),
        ("kafka://k1", ["k1:9092"]),
        ("kafka://[::1]:9092,[fe80::1]", ["[::1]:9092", "[fe80::1]:9092"]),
        ("kafka_broker_1:29092", ["kafka_broker_1:29092"]),
    ],
)
def test_parse_broker_url__accepts(url: str, expected: list[str]) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty Kafka broker URL"),
        ("   ", "empty Kafka broker URL"),
        ("http://k1:9092", "unsupported scheme 'http://'"),
        ("memory://", "unsupported scheme 'memory://'"),
        ("kafka://k1:9092,", "empty broker address"),
        ("kafka://", "empty broker address"),
        ("kafka://k1:port", "bad broker port 'port'"),
        ("kafka://k1:0", "bad broker port '0'"),
        ("kafka://k1:65536", "bad broker port '65536'"),
        ("kafka://k1:", "bad broker port ''"),
        ("kafka://k 1:9092", "bad broker host 'k 1'"),
        ("kafka://user@k1:9092", "bad broker host 'user@k1'"),
        ("kafka://::1:9092", "write IPv6 addresses in brackets"),
        ("kafka://[::1]9092", "bad broker address '[::1]9092'"),
    ],
)
def test_parse_broker_url__rejects_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_broker_url(url)


def test_parse_broker_url__error_quotes_the_whole_url() -> None:
    with pytest.raises(ValueError, match=r"in Kafka broker URL 'kafka://k1:9092,k2:x'"):
        parse_broker_url("kafka://k1:9092,k2:x")


def test_format_broker_url__round_trips() -> None:
    brokers = ["k1:9092", "[::1]:9093"]
    assert format_broker_url(brokers) == "kafka://k1:9092,[::1]:9093"
    assert parse_broker_url(format_broker_url(brokers)) == brokers


def test_format_broker_url__rejects_an_empty_list() -> None:
    with pytest.raises(ValueError, match="no broker addresses"):
        format_broker_url([])
