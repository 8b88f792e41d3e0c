"""The project's consumer (MessageSink + consume_loop) as a process a fault test can SIGKILL.

    python -m tests.faults.consumer_proc STATS_JSON [BATCH_SIZE]

Settings come from the environment like any City Live process (MONGO_URI, MONGO_DB,
KAFKA_BOOTSTRAP_SERVERS, KAFKA_CONSUMER_GROUP). It consumes every data topic until SIGTERM,
then writes its totals to STATS_JSON; a SIGKILLed run writes nothing, as a crash would.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

from core.catalog import load_catalog
from core.settings import Settings
from core.storage import get_db
from core.vocabulary import DATA_TOPICS
from ingest.consumer import MessageSink, consume_loop
from ingest.kafka_io import make_consumer


def main(argv: list[str]) -> int:
    stats_path = Path(argv[1])
    batch = int(argv[2]) if len(argv) > 2 else 500
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings(_env_file=None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    consumer = make_consumer(settings)
    consumer.subscribe(list(DATA_TOPICS))
    sink = MessageSink(get_db(settings), load_catalog())
    try:
        total = consume_loop(consumer, sink, batch_size=batch, poll_timeout_s=0.2,
                             stop=lambda _t, _e: stop.is_set())
    finally:
        consumer.close()
    stats_path.write_text(json.dumps({
        "consumed": total.consumed, "stored": total.stored, "duplicates": total.duplicates,
        "rejected": total.rejected, "write_failures": total.write_failures}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
