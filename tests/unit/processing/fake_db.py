"""A small in-memory stand-in for the pymongo calls the processing job makes (unit tier).

It supports exactly the filters the job uses (equality, $gte, $in) and raises the same
duplicate-key BulkWriteError as a server, so storage.insert_new behaves as it does for real.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from pymongo.errors import BulkWriteError


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    for field, want in query.items():
        have = doc.get(field)
        if isinstance(want, dict):
            for op, arg in want.items():
                if op == "$gte" and not (have is not None and have >= arg):
                    return False
                if op == "$lt" and not (have is not None and have < arg):
                    return False
                if op == "$in" and have not in arg:
                    return False
        elif have != want:
            return False
    return True


class FakeCollection:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.finds: list[dict[str, Any]] = []
        self.deletes = 0

    def find(self, query: dict[str, Any] | None = None,
             projection: dict[str, int] | None = None) -> Iterable[dict[str, Any]]:
        self.finds.append(query or {})
        hits = [dict(d) for d in self.docs.values() if _matches(d, query or {})]
        if projection:
            hits = [{k: d[k] for k in projection if k in d} for d in hits]
        return iter(hits)

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return next(iter(self.find(query)), None)

    def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> SimpleNamespace:
        inserted, errors = [], []
        for index, doc in enumerate(docs):
            if doc["_id"] in self.docs:
                errors.append({"index": index, "code": 11000, "keyValue": {"_id": doc["_id"]}})
                continue
            self.docs[doc["_id"]] = dict(doc)
            inserted.append(doc["_id"])
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nInserted": len(inserted)})
        return SimpleNamespace(inserted_ids=inserted)

    def insert_one(self, doc: dict[str, Any]) -> SimpleNamespace:
        self.insert_many([doc])
        return SimpleNamespace(inserted_id=doc["_id"])

    def delete_many(self, query: dict[str, Any]) -> SimpleNamespace:
        self.deletes += 1
        gone = [k for k, d in self.docs.items() if _matches(d, query)]
        for key in gone:
            del self.docs[key]
        return SimpleNamespace(deleted_count=len(gone))

    def update_one(self, query: dict[str, Any], update: dict[str, Any],
                   upsert: bool = False) -> SimpleNamespace:
        """`$set` and `$setOnInsert` on the document with the given `_id`."""
        assert set(query) == {"_id"} and set(update) <= {"$set", "$setOnInsert"}
        doc = self.docs.get(query["_id"])
        if doc is None and not upsert:
            return SimpleNamespace(matched_count=0)
        if doc is None:
            doc = self.docs[query["_id"]] = {"_id": query["_id"],
                                             **update.get("$setOnInsert", {})}
        doc.update(update.get("$set", {}))
        return SimpleNamespace(matched_count=1)

    def replace_one(self, query: dict[str, Any], doc: dict[str, Any],
                    upsert: bool = False) -> None:
        assert set(query) == {"_id"} and upsert
        self.docs[query["_id"]] = dict(doc)


class FakeDb(dict):
    """db[name] -> FakeCollection, created on first use."""

    def __missing__(self, name: str) -> FakeCollection:
        self[name] = FakeCollection()
        return self[name]
