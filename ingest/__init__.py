"""Producers, sources and the Kafka -> MongoDB consumer of City Live."""
