"""KAFKA_TOPIC_PREFIX: the clients translate logical topic names at the wire, both ways."""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition
from pydantic import ValidationError

from core.settings import Settings
from core.vocabulary import Topic
from ingest.kafka_io import (
    NamespacedConsumer,
    NamespacedProducer,
    TopicNames,
    make_consumer,
    make_producer,
    unwrap,
)


class Msg:
    def __init__(self, topic):
        self._topic = topic

    def topic(self):
        return self._topic

    def offset(self):
        return 7


class Inner:
    def __init__(self, messages=()):
        self.calls, self.messages = [], list(messages)

    def produce(self, topic, *args, **kwargs):
        self.calls.append(("produce", topic))

    def subscribe(self, topics, **kwargs):
        self.calls.append(("subscribe", topics))

    def consume(self, num_messages=1, timeout=1.0):
        return self.messages

    def seek(self, part):
        self.calls.append(("seek", part.topic, part.partition, part.offset))

    def committed(self, parts, timeout=None):
        return parts


def test_names_round_trip_and_leave_foreign_names_alone():
    names = TopicNames("t1.")
    assert names.physical(Topic.WEATHER) == "t1.weather_obs"
    assert names.logical("t1.weather_obs") == Topic.WEATHER
    assert names.logical("other") == "other"
    assert TopicNames().physical(Topic.WEATHER) == Topic.WEATHER


def test_producer_and_consumer_speak_logical_names_and_send_namespaced_ones():
    names = TopicNames("t1.")
    inner = Inner()
    NamespacedProducer(inner, names).produce(Topic.DLQ, b"k")
    consumer = NamespacedConsumer(Inner([Msg("t1.weather_obs")]), names)
    consumer.subscribe([Topic.WEATHER])
    consumer.seek(TopicPartition(Topic.WEATHER, 2, 40))
    [msg] = consumer.consume(10, 0.1)
    assert inner.calls == [("produce", "t1.citylive.dlq")]
    assert consumer.inner.calls == [("subscribe", ["t1.weather_obs"]),
                                    ("seek", "t1.weather_obs", 2, 40)]
    assert msg.topic() == Topic.WEATHER and msg.offset() == 7
    [part] = consumer.committed([TopicPartition(Topic.AQI, 0)])
    assert part.topic == Topic.AQI


def test_an_empty_prefix_gives_the_plain_clients():
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:9")
    consumer = make_consumer(settings)
    try:
        assert not isinstance(consumer, NamespacedConsumer)
        assert unwrap(consumer) == (consumer, TopicNames())
    finally:
        consumer.close()
    assert not isinstance(make_producer(settings), NamespacedProducer)
    prefixed = settings.model_copy(update={"kafka_topic_prefix": "t1."})
    assert isinstance(make_producer(prefixed), NamespacedProducer)


def test_a_prefix_with_characters_kafka_refuses_is_a_settings_error():
    with pytest.raises(ValidationError):
        Settings(_env_file=None, kafka_topic_prefix="bad prefix/")
